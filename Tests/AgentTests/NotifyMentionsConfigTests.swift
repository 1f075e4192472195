import AgentDaemon
import Notify
import Testing
import YAMLSupport

/// `mentions:` is the one way a notification mentions anyone: read per receiver, each in the
/// service's own form, anything else an error naming the accepted forms.
@Suite struct NotifyMentionsConfigTests {
    @Test func mentionsInEachServicesFormReachItsBuilder() throws {
        let c = try NotifyConfig.parse("""
            notify:
              route: {receiver: chat}
              receivers:
                - name: chat
                  slack: {url: 'https://hooks.slack.com/x', mentions: [here, '@U024BE7LH', 'subteam^SAZ94GDB8']}
                  discord: {url: 'https://discord.com/api/webhooks/x', mentions: [everyone, 'user:80351110224678912']}
                  googlechat: {url: 'https://chat.googleapis.com/x', mentions: [all]}
                  mattermost: {url: 'https://mm.example/hooks/x', mentions: [channel, '@oncall']}
            """, file: "agent.yaml")
        let n = try c.notifierConfiguration(stateDir: "/tmp")
        let slack = try #require(n.integrations.first { $0.kind == "slack" }?.builder as? SlackReceiver)
        #expect(slack.mentions == ["here", "@U024BE7LH", "subteam^SAZ94GDB8"])
        #expect((n.integrations.first { $0.kind == "discord" }?.builder as? DiscordReceiver)?.mentions == ["everyone", "user:80351110224678912"])
        #expect((n.integrations.first { $0.kind == "googlechat" }?.builder as? GoogleChatReceiver)?.mentions == ["all"])
        #expect((n.integrations.first { $0.kind == "mattermost" }?.builder as? SlackReceiver)?.mentions == ["channel", "@oncall"])
    }

    @Test func aMentionInAnotherServicesFormIsAnError() {
        do {
            _ = try NotifyConfig.parse("""
                notify:
                  route: {receiver: chat}
                  receivers:
                    - name: chat
                      slack: {url: 'https://hooks.slack.com/x', mentions: ['@everyone']}
                """, file: "agent.yaml")
            Issue.record("accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("\"@everyone\" is not a slack mention") && text.contains("here, channel, everyone"), "\(text)")
        }
    }

    @Test func teamsTakesNoMentions() {
        #expect(throws: ConfigErrors.self) {
            _ = try NotifyConfig.parse("""
                notify:
                  route: {receiver: chat}
                  receivers:
                    - name: chat
                      teams: {url: 'https://x.example/workflows', mentions: [here]}
                """, file: "agent.yaml")
        }
    }
}
