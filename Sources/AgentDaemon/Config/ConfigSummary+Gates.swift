extension ConfigSummary {
    /// Loads the gate files a configuration names (`gate_files:`); returns how many gates they
    /// define, throws every error of every file.
    public static func gates(of config: AgentConfig) throws -> Int {
        try GatesComponent.load(globs: config.gateFiles, relativeTo: config.baseDirectory).count
    }
}
