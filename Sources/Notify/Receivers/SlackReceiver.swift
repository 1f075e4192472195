/// Slack incoming webhooks (and Mattermost's, which take the same shape): a fallback `text` with
/// the notification's title, then one attachment per alert coloured by tier, titled with the
/// alert's summary and linked to its runbook, its description as text and its labels as fields.
///
/// Limits: Slack truncates a message past 40,000 characters and advises at most 20 attachments;
/// Mattermost's posts hold 16,383 characters. Past `maxAttachments` alerts, the last attachment
/// lists how many more there are; long texts are cut with `…`. Nothing is ever rejected.
public struct SlackReceiver: PayloadBuilder {
    /// Slack, or Mattermost (links written `[text](url)` instead of `<url|text>`).
    public enum Flavor: String, Sendable {
        case slack, mattermost
    }

    public let flavor: Flavor
    /// Channel override (`#ops`); incoming webhooks of newer Slack apps ignore it.
    public var channel: String?
    /// Sender name override.
    public var username: String?
    public var maxAttachments = 20

    public init(flavor: Flavor = .slack, channel: String? = nil, username: String? = nil) {
        self.flavor = flavor
        self.channel = channel
        self.username = username
    }

    public var kind: String { flavor.rawValue }

    var maxTextScalars: Int { flavor == .slack ? 40_000 : 16_383 }
    var maxAttachmentText: Int { flavor == .slack ? 3000 : 4000 }
    static let maxTitle = 1024
    static let maxFieldValue = 1000

    public func payload(for n: AlertNotification) -> Payload {
        var shown = n.alerts
        var hidden: [NotifiedAlert] = []
        if shown.count > maxAttachments {
            hidden = Array(shown[(maxAttachments - 1)...])
            shown = Array(shown.prefix(maxAttachments - 1))
        }
        var attachments = shown.map { attachment($0) }
        if !hidden.isEmpty {
            let list = hidden.map { escape("[\(MessageText.tierText($0))] \(MessageText.summary($0))") }.joined(separator: "\n")
            attachments.append(
                .object([
                    ("color", .string(MessageText.hexColor(nil, resolved: false))),
                    ("title", .string("… and \(hidden.count) more alerts")),
                    ("text", .string(MessageText.truncate(list, maxAttachmentText))),
                    ("fallback", .string("… and \(hidden.count) more alerts")),
                    ("mrkdwn_in", .array(["text"])),
                ]))
        }
        var message: [(String, JSON)] = []
        if let channel { message.append(("channel", .string(channel))) }
        if let username { message.append(("username", .string(username))) }
        message.append(("text", .string(MessageText.truncate(escape(n.title), 2000))))
        message.append(("attachments", .array(attachments)))
        var json = JSON.object(message)
        // The whole message within the service's limit: shrink attachment texts until it fits.
        var budget = maxAttachmentText
        while SlackReceiver.characters(json) > maxTextScalars, budget > 50 {
            budget /= 2
            attachments = attachments.map { SlackReceiver.shrinkText($0, to: budget) }
            message[message.count - 1] = ("attachments", .array(attachments))
            json = .object(message)
        }
        return Payload(body: json.encoded())
    }

    /// Slack reads `<…>` as links and mentions and `&` as an entity: text from alerts is escaped
    /// (https://api.slack.com/reference/surfaces/formatting#escaping). Mattermost is Markdown.
    func escape(_ s: String) -> String {
        guard flavor == .slack else { return s }
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    func link(_ url: String, _ text: String) -> String {
        flavor == .slack ? "<\(url)|\(text)>" : "[\(text)](\(url))"
    }

    func attachment(_ a: NotifiedAlert) -> JSON {
        let resolved = a.status == .resolved
        let title = escape("[\(MessageText.tierText(a).uppercased())] \(MessageText.summary(a))")
        var text = escape(MessageText.description(a) ?? "")
        if let history = MessageText.historyLine(a) { text += (text.isEmpty ? "" : "\n") + history }
        if let runbook = MessageText.runbook(a) {
            text += (text.isEmpty ? "" : "\n") + link(runbook, "Runbook")
        }
        var fields: [JSON] = []
        for (name, value) in MessageText.labelPairs(a) {
            fields.append(field(escape(name), escape(value)))
        }
        fields.append(field("value", MessageText.value(a.value)))
        fields.append(field(resolved ? "resolved" : "since", RFC3339.format(resolved ? (a.endsAt ?? a.startsAt) : a.startsAt)))
        var members: [(String, JSON)] = [
            ("color", .string(MessageText.hexColor(a.severity, resolved: resolved))),
            ("title", .string(MessageText.truncate(title, SlackReceiver.maxTitle))),
        ]
        if let runbook = MessageText.runbook(a) { members.append(("title_link", .string(runbook))) }
        members.append(("text", .string(MessageText.truncate(text, maxAttachmentText))))
        members.append(("fallback", .string(MessageText.truncate(title, SlackReceiver.maxTitle))))
        members.append(("fields", .array(fields)))
        members.append(("footer", .string(a.source.isEmpty ? "agent" : "agent · \(a.source)")))
        members.append(("ts", .int(a.startsAt / 1000)))
        members.append(("mrkdwn_in", .array(["text"])))
        return .object(members)
    }

    func field(_ title: String, _ value: String) -> JSON {
        .object([
            ("title", .string(MessageText.truncate(title, 256))),
            ("value", .string(MessageText.truncate(value, SlackReceiver.maxFieldValue))),
            ("short", .bool(true)),
        ])
    }

    /// Characters of text in a message (all string values), as the services count them.
    static func characters(_ json: JSON) -> Int {
        switch json {
        case .string(let s): return s.unicodeScalars.count
        case .array(let items): return items.reduce(0) { $0 + characters($1) }
        case .object(let members): return members.reduce(0) { $0 + characters($1.1) }
        default: return 0
        }
    }

    static func shrinkText(_ attachment: JSON, to budget: Int) -> JSON {
        guard case .object(var members) = attachment else { return attachment }
        for i in members.indices where ["text", "title", "fallback", "fields"].contains(members[i].0) {
            switch members[i].1 {
            case .string(let s): members[i].1 = .string(MessageText.truncate(s, budget))
            case .array(let fields):
                members[i].1 = .array(fields.map { f in
                    guard case .object(var fm) = f else { return f }
                    for j in fm.indices where fm[j].0 == "value" {
                        if case .string(let v) = fm[j].1 { fm[j].1 = .string(MessageText.truncate(v, max(20, budget / 8))) }
                    }
                    return .object(fm)
                })
            default: break
            }
        }
        return .object(members)
    }
}
