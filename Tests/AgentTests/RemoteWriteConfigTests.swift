@testable import AgentDaemon
import Ingest
import RemoteWrite
import Testing
import YAMLSupport

@Suite struct RemoteWriteConfigTests {
    func errors(_ yaml: String) -> [String] {
        do {
            _ = try AgentConfig.parse(yaml, file: "agent.yaml")
            return []
        } catch let error as ConfigErrors {
            return error.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func prometheusKeysRead() throws {
        let yaml = """
            remote_write:
              - url: https://mimir.example.com/api/v1/push
                name: central
                remote_timeout: 10s
                headers: {X-Scope-OrgID: team-a}
                basic_auth: {username: agent, password_file: /run/credentials/agent.service/rw_password}
                tls_config: {ca_file: /etc/agent/ca.pem, cert_file: /etc/agent/c.pem, key_file: /etc/agent/k.pem, insecure_skip_verify: true}
                write_relabel_configs: [{source_labels: [__name__], regex: "go_.*", action: drop}]
                queue_config: {max_samples_per_send: 500, batch_send_deadline: 2s, min_backoff: 50ms, max_backoff: 10s, retry_on_http_429: false, max_shards: 4}
                send_exemplars: false
              - url: http://127.0.0.1:8428/api/v1/write
                authorization: {type: Bearer, credentials_file: /run/credentials/agent.service/token}
            """
        let c = try AgentConfig.parse(yaml, file: "agent.yaml")
        #expect(c.remoteWrite.count == 2)
        let a = c.remoteWrite[0]
        #expect(a.name == "central")
        #expect(a.timeout == 10_000)
        #expect(a.headers == [HTTPHeader("X-Scope-OrgID", "team-a")])
        #expect(a.authorization == .basic(username: "agent", passwordFile: "/run/credentials/agent.service/rw_password"))
        #expect(a.tls == TLSOptions(caFile: "/etc/agent/ca.pem", certFile: "/etc/agent/c.pem", keyFile: "/etc/agent/k.pem", insecureSkipVerify: true))
        #expect(a.relabel.count == 1 && a.relabel[0].action == .drop)
        #expect(a.queue.maxSamplesPerSend == 500 && a.queue.batchSendDeadline == 2_000 && a.queue.minBackoff == 50)
        #expect(a.queue.maxBackoff == 10_000 && a.queue.retryOnHTTP429 == false && a.queue.maxShards == 4)
        let b = c.remoteWrite[1]
        #expect(b.name == RemoteWriteEndpoint.defaultName(for: "http://127.0.0.1:8428/api/v1/write") && b.name.count == 6)
        #expect(b.authorization == .bearer(tokenFile: "/run/credentials/agent.service/token"))
        #expect(b.queue == RemoteWriteEndpoint.Queue(), "Prometheus's defaults otherwise")
        #expect(b.timeout == 30_000)
    }

    @Test(arguments: [
        ("no url", "  - name: x\n", "agent.yaml:2:5: remote_write[0] needs a url"),
        ("bad scheme", "  - url: ftp://x/y\n", "agent.yaml:2:10: remote_write[0].url: \"ftp://x/y\" must be an http:// or https:// URL"),
        ("typo", "  - url: http://a/w\n    remote_timout: 5s\n", "agent.yaml:3:5: remote_write[0]: unknown key \"remote_timout\" (did you mean \"remote_timeout\"?)"),
        ("capacity", "  - url: http://a/w\n    queue_config: {capacity: 10000}\n", "agent.yaml:3:20: remote_write[0].queue_config.capacity does not apply to the agent: the agent keeps no queue of samples"),
        ("inline password", "  - url: http://a/w\n    basic_auth: {username: u, password: p}\n", "agent.yaml:3:31: remote_write[0].basic_auth.password does not apply to the agent: passwords are read from files"),
        ("basic type", "  - url: http://a/w\n    authorization: {type: Basic, credentials_file: /f}\n", "agent.yaml:3:27: remote_write[0].authorization.type: only Bearer is supported"),
        ("both auths", "  - url: http://a/w\n    basic_auth: {username: u, password_file: /p}\n    authorization: {credentials_file: /f}\n", "agent.yaml:4:20: remote_write[0]: basic_auth and authorization exclude each other"),
        ("reserved header", "  - url: http://a/w\n    headers: {Content-Encoding: gzip}\n", "agent.yaml:3:14: remote_write[0].headers: \"Content-Encoding\" is set by the agent"),
        ("backoffs", "  - url: http://a/w\n    queue_config: {min_backoff: 10s, max_backoff: 1s}\n", "agent.yaml:3:33: remote_write[0].queue_config: min_backoff (10s) exceeds max_backoff (1s)"),
        ("exemplars", "  - url: http://a/w\n    send_exemplars: true\n", "agent.yaml:3:21: remote_write[0].send_exemplars: the agent stores no exemplars"),
        ("bad duration", "  - url: http://a/w\n    queue_config: {batch_send_deadline: soon}\n", "agent.yaml:3:41: remote_write[0].queue_config.batch_send_deadline: \"soon\" is not a duration"),
        ("shards", "  - url: http://a/w\n    queue_config: {max_shards: 0}\n", "agent.yaml:3:32: remote_write[0].queue_config.max_shards must be between 1 and 64, got 0"),
        ("same name", "  - url: http://a/w\n    name: x\n  - url: http://b/w\n    name: x\n", "agent.yaml:5:11: remote_write[1]: endpoint name \"x\" is used twice"),
        ("not a list", "  url: http://a/w\n", "agent.yaml:2:3: remote_write must be a list"),
        ("bad relabel", "  - url: http://a/w\n    write_relabel_configs: [{regex: \"(\", action: drop}]\n", "agent.yaml:3:29: remote_write[0].write_relabel_configs[0]: invalid regex"),
    ])
    func mistakesAreReportedWithTheirPosition(name: String, yaml: String, expected: String) {
        let found = errors("remote_write:\n" + yaml)
        #expect(found.contains { $0.hasPrefix(expected) }, "\(name): \(found)")
    }

    @Test func everyMistakeIsReportedInOnePass() {
        let found = errors("""
            remote_write:
              - url: nope
              - url: http://a/w
                queue_config: {min_shards: 2, max_samples_per_send: 0}
                tls_config: {cert_file: /c}
            """)
        #expect(found.count == 4, "\(found)")
    }

    @Test func progressFilesAreNamedSafelyAndApart() {
        let plain = RemoteWriteComponent.progressPath(stateDir: "/s", name: "central")
        #expect(plain == "/s/remote_write-central.progress")
        let odd = RemoteWriteComponent.progressPath(stateDir: "/s", name: "../a b")
        #expect(!odd.dropFirst(3).contains("/") && odd.hasPrefix("/s/remote_write-.._a_b-"))
        #expect(RemoteWriteComponent.progressPath(stateDir: "/s", name: "a b") != RemoteWriteComponent.progressPath(stateDir: "/s", name: "a_b"))
    }
}
