/// What `agent check config` reports of a valid configuration.
public struct ConfigSummary: Sendable {
    public var files: Int
    public var groups: Int

    /// Loads the rule files a configuration names; throws every error of every file.
    public static func rules(of config: AgentConfig) throws -> ConfigSummary {
        let files = try RulesComponent.load(globs: config.ruleFiles, relativeTo: config.baseDirectory)
        return ConfigSummary(files: files.count, groups: files.reduce(0) { $0 + $1.rules.groups.count })
    }
}
