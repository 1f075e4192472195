/// The mentions a receiver puts in front of firing notifications (config `mentions:`).
///
/// Text from alerts never mentions anyone: labels and annotations are templated from values that
/// scrape targets and log lines control, so every receiver makes mention syntax in them inert.
/// A receiver's `mentions` is the one way to ask for one; routes decide which alerts reach it
/// (route `severity="critical"` to a receiver with `mentions: [here]`). Mentions go in the
/// message's top-level text, where the services notify, and only while something fires.
public enum Mentions {
    /// The mention as `kind` writes it, or nil when `name` is none of `forms(kind)`.
    public static func render(_ name: String, for kind: String) -> String? {
        func id(_ s: Substring, _ allowed: (Unicode.Scalar) -> Bool) -> Bool { !s.isEmpty && s.count <= 64 && s.unicodeScalars.allSatisfy(allowed) }
        let upperAlnum: (Unicode.Scalar) -> Bool = { ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        let digits: (Unicode.Scalar) -> Bool = { ("0"..."9").contains($0) }
        switch kind {
        case "slack":
            if ["here", "channel", "everyone"].contains(name) { return "<!\(name)>" }
            if name.hasPrefix("@"), id(name.dropFirst(), upperAlnum) { return "<\(name)>" }
            if name.hasPrefix("subteam^"), id(name.dropFirst(8), upperAlnum) { return "<!\(name)>" }
        case "mattermost":
            if ["here", "channel", "all"].contains(name) { return "@\(name)" }
            if name.hasPrefix("@"), id(name.dropFirst(), { ("a"..."z").contains($0) || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0) }) {
                return name
            }
        case "discord":
            if ["everyone", "here"].contains(name) { return "@\(name)" }
            if name.hasPrefix("user:"), id(name.dropFirst(5), digits) { return "<@\(name.dropFirst(5))>" }
            if name.hasPrefix("role:"), id(name.dropFirst(5), digits) { return "<@&\(name.dropFirst(5))>" }
        case "googlechat":
            if name == "all" { return "<users/all>" }
            if name.hasPrefix("users/"), id(name.dropFirst(6), { upperAlnum($0) || ("a"..."z").contains($0) }) { return "<\(name)>" }
        default:
            break
        }
        return nil
    }

    /// The accepted forms, for configuration errors; nil when `kind` takes no mentions.
    public static func forms(_ kind: String) -> String? {
        switch kind {
        case "slack": "here, channel, everyone, @<user ID> (@U024BE7LH) or subteam^<group ID>"
        case "mattermost": "here, channel, all or @<username>"
        case "discord": "everyone, here, user:<ID> or role:<ID>"
        case "googlechat": "all or users/<ID>"
        default: nil
        }
    }

    /// The rendered mentions followed by a space, for a notification with firing alerts; empty otherwise.
    static func prefix(_ rendered: [String], _ n: AlertNotification) -> String {
        rendered.isEmpty || n.firing.isEmpty ? "" : rendered.joined(separator: " ") + " "
    }
}
