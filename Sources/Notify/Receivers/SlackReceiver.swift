import JSON
import TextRendering
/// Slack incoming webhooks (and Mattermost's, which take the same shape): `text` with the
/// configured mentions and the notification's title, then one attachment per alert coloured by
/// tier, titled with the alert's summary and linked to its runbook, its description and history
/// as text, its labels, value and start as fields.
///
/// Limits, kept on the text as sent: Slack truncates a message's text past 40,000 characters
/// (https://api.slack.com/methods/chat.postMessage#truncating), refuses more than 100
/// attachments (`too_many_attachments`) and advises at most 20
/// (https://api.slack.com/reference/messaging/attachments); a footer holds 300 characters (same
/// page). Slack does not say which characters it counts: UTF-16 code units, never fewer than
/// code points, are counted, across every string of the message. Mattermost keeps 16,383 code
/// points in a post (`model.PostMessageMaxRunesV2`; its server counts runes), also counted
/// across every string. A long group keeps 19 alerts as attachments and lists the rest in a
/// 20th ("… and N more"); past the total, that list goes first, then descriptions, then
/// attachments (`Detail.fit`).
///
/// Neutralised: Slack's text is escaped (`&`, `<`, `>`: no mention, channel or link survives)
/// and its attachments are sent without `mrkdwn_in`, so Slack shows their text as written
/// ("attachments are not formatted" unless listed there); field titles are not escaped, as Slack
/// escapes them itself. Mattermost formats attachment text and field values as Markdown and finds
/// `@mentions` in them: those are Markdown-escaped, the rest only lose their `@mentions`.
/// `title_link` is an absolute http(s) URL or absent (the runbook stays in the text).
public struct SlackReceiver: PayloadBuilder {
    /// Slack, or Mattermost.
    public enum Flavor: String, Sendable {
        case slack, mattermost
    }

    public let flavor: Flavor
    /// Channel override (`#ops`); incoming webhooks of newer Slack apps ignore it.
    public var channel: String?
    /// Sender name override.
    public var username: String?
    /// Configured mentions in `Mentions` forms, validated by the config reader.
    public var mentions: [String]
    public var maxAttachments = 20

    public init(flavor: Flavor = .slack, channel: String? = nil, username: String? = nil, mentions: [String] = []) {
        self.flavor = flavor
        self.channel = channel
        self.username = username
        self.mentions = mentions
    }

    public var kind: String { flavor.rawValue }

    var unit: TextUnit { flavor == .slack ? .utf16 : .scalars }
    var maxCharacters: Int { flavor == .slack ? 40_000 : 16_383 }
    static let maxAttachmentText = 3000, maxTitle = 256, maxFieldTitle = 256, maxFieldValue = 1000, maxFooter = 300, maxMessageText = 3000

    /// Markup of text Slack or Mattermost formats (attachment text, field values).
    var formatted: Markup { flavor == .slack ? .slack : .markdown }
    /// Markup of text they show as is (titles, fallbacks, footers).
    var unformatted: Markup { flavor == .slack ? .slack : .atSigns }
    /// Field titles: Slack escapes them itself.
    var fieldTitle: Markup { flavor == .slack ? .plain : .atSigns }

    public func payload(for n: AlertNotification) -> Payload {
        let cap = n.alerts.count <= maxAttachments ? n.alerts.count : maxAttachments - 1
        let detail = Detail.fit(total: n.alerts.count, cap: cap, descriptionLimit: SlackReceiver.maxAttachmentText) {
            SlackReceiver.characters(message(n, $0), unit) <= maxCharacters
        }
        return Payload(body: message(n, detail).encoded())
    }

    func message(_ n: AlertNotification, _ d: Detail) -> JSON {
        let mention = Mentions.prefix(mentions.compactMap { Mentions.render($0, for: kind) }, n)
        var message: [(String, JSON)] = []
        if let channel { message.append(("channel", .string(channel))) }
        if let username { message.append(("username", .string(username))) }
        message.append(("text", .string(mention + formatted.fitted(n.title, SlackReceiver.maxMessageText, unit))))
        var attachments = n.alerts.prefix(d.detailed).map { attachment($0, d) }
        let rest = n.alerts.count - d.detailed
        if rest > 0 {
            let lines = n.alerts.dropFirst(d.detailed).prefix(d.listed).map { "[\(MessageText.tierText($0))] \(MessageText.summary($0))" }
            let title = "… and \(rest) more alerts"
            attachments.append(
                .object([
                    ("color", .string(MessageText.hexColor(nil, resolved: false))),
                    ("title", .string(title)),
                    ("text", .string(MessageText.list(lines, hidden: d.hidden(of: n.alerts.count), markup: formatted, limit: SlackReceiver.maxAttachmentText, unit: unit))),
                    ("fallback", .string(title)),
                ]))
        }
        message.append(("attachments", .array(attachments)))
        return .object(message)
    }

    func attachment(_ a: NotifiedAlert, _ d: Detail) -> JSON {
        let resolved = a.status == .resolved
        let title = unformatted.fitted("[\(MessageText.tierText(a).uppercased())] \(MessageText.summary(a))", SlackReceiver.maxTitle, unit)
        let link = MessageText.runbook(a).flatMap(MessageText.linkURL)
        var extras: [String] = []
        if let history = MessageText.historyLine(a, code: false) { extras.append(history) }
        if let runbook = MessageText.runbook(a), link == nil { extras.append("Runbook: " + formatted.fitted(runbook, 512, unit)) }
        let tail = extras.map { "\n" + $0 }.joined()
        let room = max(0, min(d.description, SlackReceiver.maxAttachmentText - unit.count(tail)))
        var text = MessageText.description(a).map { formatted.fitted($0, room, unit) } ?? ""
        text += text.isEmpty ? String(tail.dropFirst()) : tail
        var fields: [JSON] = []
        if d.labels {
            for (name, value) in MessageText.labelPairs(a) {
                fields.append(field(fieldTitle.fitted(name, SlackReceiver.maxFieldTitle, unit), formatted.fitted(value, SlackReceiver.maxFieldValue, unit)))
            }
        }
        fields.append(field("value", MessageText.value(a.value)))
        fields.append(field(resolved ? "resolved" : "since", RFC3339.format(resolved ? (a.endsAt ?? a.startsAt) : a.startsAt)))
        var members: [(String, JSON)] = [
            ("color", .string(MessageText.hexColor(a.severity, resolved: resolved))),
            ("title", .string(title)),
        ]
        if let link { members.append(("title_link", .string(link))) }
        if !text.isEmpty { members.append(("text", .string(text))) }
        members.append(("fallback", .string(title)))
        members.append(("fields", .array(fields)))
        members.append(("footer", .string(unformatted.fitted(a.source.isEmpty ? "agent" : "agent · \(a.source)", SlackReceiver.maxFooter, unit))))
        members.append(("ts", .int(a.startsAt / 1000)))
        return .object(members)
    }

    func field(_ title: String, _ value: String) -> JSON {
        .object([("title", .string(title)), ("value", .string(value)), ("short", .bool(true))])
    }

    /// Characters of text in a message (all string values) in `unit`.
    static func characters(_ json: JSON, _ unit: TextUnit) -> Int {
        switch json {
        case .string(let s): return unit.count(s)
        case .array(let items): return items.reduce(0) { $0 + characters($1, unit) }
        case .object(let members): return members.reduce(0) { $0 + characters($1.1, unit) }
        default: return 0
        }
    }
}
