/// The agent's version, printed by `agent version` and exposed in `agent_build_info`.
public enum AgentVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
