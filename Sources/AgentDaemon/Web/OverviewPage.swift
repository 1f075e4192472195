import AgentClient
import TextRendering
import TimeSeries

/// `/`: is the agent well, what does it hold, and what is it doing.
enum OverviewPage {
    static func render(_ s: Daemon.OverviewSnapshot) -> [UInt8] {
        var h = HTML(capacity: 16 * 1024)
        WebPage.begin(&h, section: .overview, title: "Overview", healthy: s.problem == nil)
        h.raw("<h1>Overview</h1>")
        if let problem = s.problem { h.problem("Not healthy: " + problem) }

        h.raw("<div class=\"cards\"><section aria-labelledby=\"h-agent\"><h2 id=\"h-agent\">Agent</h2><dl class=\"facts\">")
        fact(&h, "Health") {
            $0.raw(s.problem == nil ? "<span class=\"ok\">healthy</span>" : "<span class=\"bad\">not healthy</span>")
            $0.raw(s.ready ? " · <span class=\"ok\">ready</span>" : " · <span class=\"bad\">not ready</span>")
        }
        fact(&h, "Version") { $0.text(AgentVersion.string) }
        fact(&h, "Started") {
            $0.time(s.startedAt, now: s.now)
            $0.raw(" (up ")
            $0.text(WebFormat.span(s.now - s.startedAt))
            $0.raw(")")
        }
        fact(&h, "Configuration") { $0.raw("<code>"); $0.text(s.configSource); $0.raw("</code>") }
        fact(&h, "Last reload") {
            if let at = s.reload.lastAttemptAt {
                $0.raw(s.reload.lastSuccessful ? "<span class=\"ok\">applied</span> " : "<span class=\"bad\">refused</span> ")
                $0.ago(at, now: s.now)
                if !s.reload.lastSuccessful {
                    $0.raw("; running the configuration loaded ")
                    $0.ago(s.reload.lastSuccessAt, now: s.now)
                }
            } else {
                $0.raw("none since the start")
            }
        }
        h.raw("</dl>")
        if let error = s.reload.lastError {
            h.raw("<p>Why the last reload was refused:</p><pre class=\"problem\">")
            h.text(error)
            h.raw("</pre>")
        }
        h.raw("</section>")

        h.raw("<section aria-labelledby=\"h-work\"><h2 id=\"h-work\">Work</h2><dl class=\"facts\">")
        fact(&h, "Alerts") {
            $0.raw("<a href=\"alerts\">")
            $0.text("\(s.firing) firing, \(s.pending) pending")
            $0.raw("</a>")
        }
        fact(&h, "Rules") {
            $0.raw("<a href=\"rules\">")
            $0.text("\(s.rules) rules in \(s.ruleGroups) groups")
            $0.raw("</a>")
        }
        fact(&h, "Targets") {
            $0.raw("<a href=\"targets\">")
            $0.text("\(s.targetsUp) of \(s.targets) up")
            $0.raw("</a>")
        }
        fact(&h, "Log files") {
            $0.raw("<a href=\"logs\">")
            $0.text("\(s.logFiles) followed")
            $0.raw("</a>")
        }
        h.raw("</dl></section>")

        h.raw("<section aria-labelledby=\"h-process\"><h2 id=\"h-process\">Process</h2><dl class=\"facts\">")
        fact(&h, "Resident memory") { $0.text(WebFormat.bytes(s.process.residentBytes)) }
        fact(&h, "CPU") {
            if let cpu = s.recentCPU {
                $0.text(CFormat.printf("%.1f %%", cpu * 100))
                $0.raw(" of one core over the last minute; ")
            }
            $0.text(CFormat.printf("%.1f s", s.process.cpuSeconds))
            $0.raw(" in all")
        }
        fact(&h, "Threads") { $0.text("\(s.process.threads)") }
        fact(&h, "Open files") { $0.text("\(s.process.openFDs)") }
        h.raw("</dl></section></div>")

        h.raw("<section aria-labelledby=\"h-store\"><h2 id=\"h-store\">Store</h2><div class=\"scroll\"><table><thead><tr>")
        h.raw("<th scope=\"col\">gauges</th><th scope=\"col\">counters</th><th scope=\"col\">distributions</th><th scope=\"col\">total</th>")
        h.raw("<th scope=\"col\">limit</th><th scope=\"col\">dropped at the limit</th><th scope=\"col\">expired</th><th scope=\"col\">memory</th></tr></thead><tbody><tr>")
        for n in [s.store.gauges, s.store.counters, s.store.distributions, s.store.series, s.seriesLimit, s.store.droppedSeriesLimit, s.store.expiredSeries] {
            h.numberCell(WebFormat.count(n))
        }
        h.numberCell(WebFormat.bytes(s.storeBytes))
        h.raw("</tr></tbody></table></div>")
        let refused = s.store.outOfOrder + s.store.duplicates + s.store.tooOld + s.store.tooFarAhead + s.store.wrongKind + s.store.invalidValues
        h.raw("<p class=\"note\">")
        h.text("\(WebFormat.count(s.store.samplesAppended)) samples stored; \(WebFormat.count(refused)) refused "
            + "(out of order \(s.store.outOfOrder), duplicate \(s.store.duplicates), too old \(s.store.tooOld), "
            + "too far ahead \(s.store.tooFarAhead), wrong kind \(s.store.wrongKind), invalid \(s.store.invalidValues)).")
        h.raw("</p></section>")

        h.raw("<div class=\"cards\"><section aria-labelledby=\"h-cp\"><h2 id=\"h-cp\">Checkpoints</h2><dl class=\"facts\">")
        fact(&h, "File") { $0.raw("<code>"); $0.text(s.checkpointPath); $0.raw("</code>") }
        fact(&h, "Written") { $0.text("\(s.checkpoint.written)") }
        fact(&h, "Failed") {
            $0.raw(s.checkpoint.failed > 0 ? "<span class=\"bad\">" : "<span>")
            $0.text("\(s.checkpoint.failed)")
            $0.raw("</span>")
        }
        fact(&h, "Last") {
            if s.checkpoint.written > 0 {
                $0.ago(s.checkpoint.lastSuccess, now: s.now)
                $0.text(", \(WebFormat.bytes(s.checkpoint.lastBytes)) in \(WebFormat.seconds(s.checkpoint.lastDurationSeconds))")
            } else {
                $0.raw("none yet")
            }
        }
        h.raw("</dl>")
        if let e = s.checkpoint.lastError { h.problem("Last checkpoint error: " + e) }
        h.raw("</section>")

        h.raw("<section aria-labelledby=\"h-outbox\"><h2 id=\"h-outbox\">Notifications</h2>")
        if let o = s.outbox {
            h.raw("<dl class=\"facts\">")
            fact(&h, "Outbox pending") { $0.text("\(o.pending) (\(o.inFlight) being sent)") }
            fact(&h, "Delivered") { $0.text("\(o.delivered) (\(o.retries) retries)") }
            fact(&h, "Failed") {
                let failed = o.failedPermanently + o.gaveUp
                $0.raw(failed > 0 ? "<span class=\"bad\">" : "<span>")
                $0.text("\(failed)")
                $0.raw("</span>")
                $0.text(" (refused \(o.failedPermanently), gave up \(o.gaveUp), dropped \(o.dropped))")
            }
            if let d = s.dispatcher {
                fact(&h, "Muted") { $0.text("\(d.silenced) silenced, \(d.inhibited) inhibited; \(s.activeSilences) active silences") }
            }
            h.raw("</dl>")
        } else {
            h.empty("No receivers are configured (notify:), so nothing is sent.")
        }
        h.raw("</section></div>")

        h.raw("<section aria-labelledby=\"h-loops\"><h2 id=\"h-loops\">Loops</h2><div class=\"scroll\"><table><thead><tr>")
        h.raw("<th scope=\"col\">loop</th><th scope=\"col\">state</th><th scope=\"col\" class=\"num\">last progress</th><th scope=\"col\" class=\"num\">may wait</th></tr></thead><tbody>")
        for loop in s.loops {
            h.raw("<tr><th scope=\"row\">")
            h.text(loop.loop)
            h.raw("</th>")
            if let age = loop.secondsSinceProgress {
                let stale = loop.boundSeconds.map { age > $0 } ?? false
                h.raw(stale ? "<td class=\"bad\">stuck</td>" : "<td class=\"ok\">running</td>")
                h.numberCell(WebFormat.span(Milliseconds(age * 1000)) + " ago")
                h.numberCell(loop.boundSeconds.map { WebFormat.span(Milliseconds($0 * 1000)) } ?? "")
            } else {
                h.raw("<td class=\"muted\">idle</td><td></td><td></td>")
            }
            h.raw("</tr>")
        }
        h.raw("</tbody></table></div></section>")
        WebPage.end(&h, now: s.now)
        return h.bytes
    }

    static func fact(_ h: inout HTML, _ term: StaticString, _ value: (inout HTML) -> Void) {
        h.raw("<dt>")
        h.raw(term)
        h.raw("</dt><dd>")
        value(&h)
        h.raw("</dd>")
    }
}
