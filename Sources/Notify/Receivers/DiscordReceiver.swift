import JSON
import TextRendering
/// Discord webhooks: the title as `content`, one embed per alert with the tier's colour as an
/// integer, the summary as title (linked to the runbook), description, history and runbook as
/// description, labels as inline fields.
///
/// Limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits and
/// #execute-webhook), all kept on the text as sent: `content` 2,000 characters; at most 10
/// embeds; an embed's title 256, description 4,096, 25 fields (name 256, value 1,024), footer
/// 2,048; 6,000 characters across the titles, descriptions, field names and values and footers
/// of all embeds. Discord counts code points ("Our API uses Python 3, so the API calculates
/// length based on the number of codepoints", discord/discord-api-docs#1315). A long group is
/// shortened as `Detail.fit` says: past 10 alerts the tenth embed lists the rest ("… and N
/// more"); that list goes first, then descriptions, then embeds.
///
/// Neutralised: alert text is Markdown-escaped (`Markup.markdown`) and `allowed_mentions` parses
/// nothing but the receiver's configured `mentions`, so `@everyone`, `<@id>` or `<@&id>` in an
/// annotation pings nobody. Embed `url`s are absolute http(s) only (Discord refuses others).
public struct DiscordReceiver: PayloadBuilder {
    public var kind: String { "discord" }
    public var username: String?
    /// Configured mentions in `Mentions` forms (`everyone`, `user:<ID>`, `role:<ID>`), validated by the config reader.
    public var mentions: [String]

    public init(username: String? = nil, mentions: [String] = []) {
        self.username = username
        self.mentions = mentions
    }

    static let maxContent = 2000, maxEmbeds = 10, maxTitle = 256, maxDescription = 4096
    static let maxFields = 25, maxFieldName = 256, maxFieldValue = 1024, maxFooter = 2048, maxTotal = 6000
    static let unit = TextUnit.scalars

    public func payload(for n: AlertNotification) -> Payload {
        let cap = n.alerts.count <= DiscordReceiver.maxEmbeds ? n.alerts.count : DiscordReceiver.maxEmbeds - 1
        let detail = Detail.fit(total: n.alerts.count, cap: cap, descriptionLimit: DiscordReceiver.maxDescription) {
            DiscordReceiver.characters(embeds(n, $0)) <= DiscordReceiver.maxTotal
        }
        let rendered = mentions.compactMap { Mentions.render($0, for: kind) }
        var message: [(String, JSON)] = [
            ("content", .string(Markup.markdown.fitted(n.title, DiscordReceiver.maxContent - MessageText.scalarCount(Mentions.prefix(rendered, n)), DiscordReceiver.unit)
                .prefixed(Mentions.prefix(rendered, n)))),
            ("embeds", .array(embeds(n, detail).map(\.json))),
        ]
        if let username { message.append(("username", .string(MessageText.truncate(username, 80)))) }
        message.append(("allowed_mentions", allowedMentions))
        return Payload(body: JSON.object(message).encoded())
    }

    /// Only the configured mentions may ping (https://discord.com/developers/docs/resources/message#allowed-mentions-object).
    var allowedMentions: JSON {
        var parse: [JSON] = [], users: [JSON] = [], roles: [JSON] = []
        for m in mentions {
            if m == "everyone" || m == "here" {
                if parse.isEmpty { parse.append("everyone") }
            } else if m.hasPrefix("user:") {
                users.append(.string(String(m.dropFirst(5))))
            } else if m.hasPrefix("role:") {
                roles.append(.string(String(m.dropFirst(5))))
            }
        }
        var members: [(String, JSON)] = [("parse", .array(parse))]
        if !users.isEmpty { members.append(("users", .array(users))) }
        if !roles.isEmpty { members.append(("roles", .array(roles))) }
        return .object(members)
    }

    struct Embed {
        var title: String
        var description: String
        var url: String?
        var color: Int64
        var fields: [(String, String)]
        var footer: String
        var timestamp: String?

        var characters: Int {
            let u = DiscordReceiver.unit
            return u.count(title) + u.count(description) + u.count(footer) + fields.reduce(0) { $0 + u.count($1.0) + u.count($1.1) }
        }

        var json: JSON {
            var m: [(String, JSON)] = [("title", .string(title))]
            if !description.isEmpty { m.append(("description", .string(description))) }
            if let url { m.append(("url", .string(url))) }
            m.append(("color", .int(color)))
            if !fields.isEmpty {
                m.append(("fields", .array(fields.map { .object([("name", .string($0.0)), ("value", .string($0.1)), ("inline", true)]) })))
            }
            m.append(("footer", .object([("text", .string(footer))])))
            if let timestamp { m.append(("timestamp", .string(timestamp))) }
            return .object(m)
        }
    }

    static func characters(_ embeds: [Embed]) -> Int { embeds.reduce(0) { $0 + $1.characters } }

    func embeds(_ n: AlertNotification, _ d: Detail) -> [Embed] {
        var embeds = n.alerts.prefix(d.detailed).map { embed($0, d) }
        let rest = n.alerts.count - d.detailed
        if rest > 0 {
            let lines = n.alerts.dropFirst(d.detailed).prefix(d.listed).map { "[\(MessageText.tierText($0))] \(MessageText.summary($0))" }
            embeds.append(
                Embed(
                    title: "… and \(rest) more alerts",
                    description: MessageText.list(lines, hidden: d.hidden(of: n.alerts.count), markup: .markdown, limit: DiscordReceiver.maxDescription, unit: DiscordReceiver.unit),
                    url: nil, color: MessageText.intColor(nil, resolved: false), fields: [], footer: "agent", timestamp: nil))
        }
        return embeds
    }

    func embed(_ a: NotifiedAlert, _ d: Detail) -> Embed {
        let u = DiscordReceiver.unit, md = Markup.markdown
        let resolved = a.status == .resolved
        let link = MessageText.runbook(a).flatMap(MessageText.linkURL)
        // Our own lines (history in a code span, the runbook link) after the alert's description.
        var extras: [String] = []
        if let history = MessageText.historyLine(a) { extras.append(history) }
        if let runbook = MessageText.runbook(a) {
            extras.append(link.map { "[Runbook](\($0))" } ?? "Runbook: " + md.fitted(runbook, 512, u))
        }
        let tail = extras.map { "\n" + $0 }.joined()
        let room = max(0, min(d.description, DiscordReceiver.maxDescription - u.count(tail)))
        var description = MessageText.description(a).map { md.fitted($0, room, u) } ?? ""
        description += description.isEmpty ? String(tail.dropFirst()) : tail
        var fields: [(String, String)] = []
        if d.labels {
            fields = MessageText.labelPairs(a).map {
                (md.fitted($0.0, DiscordReceiver.maxFieldName, u), md.fitted($0.1.isEmpty ? "(empty)" : $0.1, DiscordReceiver.maxFieldValue, u))
            }
        }
        fields.append(("value", MessageText.value(a.value)))
        if fields.count > DiscordReceiver.maxFields {
            let rest = fields.count - (DiscordReceiver.maxFields - 1)
            fields = Array(fields.prefix(DiscordReceiver.maxFields - 1)) + [("…", "\(rest) more labels")]
        }
        return Embed(
            title: md.fitted("[\(MessageText.tierText(a).uppercased())] \(MessageText.summary(a))", DiscordReceiver.maxTitle, u),
            description: description, url: link, color: MessageText.intColor(a.severity, resolved: resolved), fields: fields,
            // Footers are not Markdown: plain.
            footer: Markup.plain.fitted(a.source.isEmpty ? "agent" : "agent · \(a.source)", 256, u),
            timestamp: RFC3339.format(resolved ? (a.endsAt ?? a.startsAt) : a.startsAt))
    }
}

extension String {
    func prefixed(_ p: String) -> String { p + self }
}
