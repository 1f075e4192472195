import Alerting
import TimeSeries
import YAMLSupport

/// `/rules`: each rule group with its interval, last evaluation and how long it took, and each
/// rule with its expression, tiers, `for`, health and last error.
enum RulesPage {
    static func render(_ groups: [(status: GroupStatus, definition: RuleFile.Group)], now: Timestamp, healthy: Bool) -> [UInt8] {
        var h = HTML(capacity: 16 * 1024 + groups.reduce(0) { $0 + $1.definition.rules.count } * 800)
        WebPage.begin(&h, section: .rules, title: "Rules", healthy: healthy)
        h.raw("<h1>Rules</h1>")
        if groups.isEmpty { h.empty("No rule files are loaded (rule_files:).") }
        for (g, (status, definition)) in groups.enumerated() {
            let id = "group-\(g)"
            h.raw("<section class=\"group\" aria-labelledby=\"")
            h.trusted(id)
            h.raw("\"><h2 id=\"")
            h.trusted(id)
            h.raw("\">")
            h.isolated(status.name)
            h.raw("</h2><p class=\"note\"><code>")
            h.text(status.file)
            h.raw("</code> · every ")
            h.text(YAMLReader.formatDuration(status.interval))
            if let at = status.lastEvaluatedAt {
                h.raw(" · last evaluated ")
                h.ago(at, now: now)
                h.raw(" in ")
                h.text(WebFormat.seconds(RulesComponent.seconds(status.lastEvaluationDuration)))
            } else {
                h.raw(" · not evaluated yet")
            }
            h.text(" · \(status.evaluations) evaluations, \(status.failedRuleEvaluations) rule failures")
            h.raw("</p>")
            if let e = status.lastError { h.problem("Last evaluation: " + e) }
            h.raw("<div class=\"scroll\"><table class=\"rules stack\"><thead><tr><th scope=\"col\">rule</th><th scope=\"col\">expression</th>")
            h.raw("<th scope=\"col\">tiers / for</th><th scope=\"col\">health</th><th scope=\"col\" class=\"num\">last evaluation</th></tr></thead><tbody>")
            for (i, rule) in definition.rules.enumerated() {
                let rs = i < status.rules.count ? status.rules[i] : nil
                write(rule, status: rs, now: now, into: &h)
            }
            h.raw("</tbody></table></div></section>")
        }
        WebPage.end(&h, now: now)
        return h.bytes
    }

    static func write(_ rule: RuleFile.Rule, status: RuleStatus?, now: Timestamp, into h: inout HTML) {
        h.raw("<tr><th scope=\"row\">")
        h.raw(rule.kind == .alerting ? "<span class=\"note\">alert</span> " : "<span class=\"note\">record</span> ")
        h.isolated(rule.name)
        if let active = status?.activeAlerts, active > 0 {
            h.raw(" <a class=\"badge firing\" href=\"alerts\">")
            h.integer(active)
            h.raw(" active</a>")
        }
        h.raw("</th><td data-label=\"expression\"><pre class=\"expr\">")
        h.text(rule.expression)
        h.raw("</pre>")
        if !rule.labels.isEmpty {
            h.raw("<ul class=\"chips\">")
            for l in rule.labels {
                h.raw("<li><span class=\"ln\">")
                h.text(l.name)
                h.raw("</span>=<span class=\"lv\">")
                h.isolated(l.template.source)
                h.raw("</span></li>")
            }
            h.raw("</ul>")
        }
        h.raw("</td><td data-label=\"tiers / for\">")
        if rule.kind == .alerting {
            if rule.isTiered {
                h.raw("<ul class=\"chips tiers\">")
                for t in rule.tiers {
                    h.raw("<li>")
                    if let c = TierStyle.cssClass(t.severity) {
                        h.raw("<span class=\"")
                        h.trusted(c)
                        h.raw("\">")
                        h.isolated(t.severity)
                        h.raw("</span>")
                    } else {
                        h.isolated(t.severity)
                    }
                    h.text(t.direction == .above ? " > " : " < ")
                    h.text(WebFormat.value(t.threshold))
                    if let hold = t.holdDuration {
                        h.text(" for " + YAMLReader.formatDuration(hold))
                    }
                    h.raw("</li>")
                }
                h.raw("</ul>")
                if let r = rule.recovery {
                    h.raw("<small class=\"note\">")
                    h.text("recovers past \(WebFormat.value(r))")
                    h.raw("</small><br>")
                }
            }
            h.raw("<small>for ")
            h.text(YAMLReader.formatDuration(rule.holdDuration))
            if rule.keepFiringFor > 0 {
                h.text(", keep firing for " + YAMLReader.formatDuration(rule.keepFiringFor))
            }
            h.raw("</small>")
        } else {
            h.raw("<span class=\"muted\">–</span>")
        }
        h.raw("</td><td data-label=\"health\">")
        switch status?.health {
        case .ok: h.raw("<span class=\"ok\">ok</span>")
        case .error(let message):
            h.raw("<span class=\"bad\">error</span><div class=\"problem\">")
            h.text(message)
            h.raw("</div>")
        case .unknown, nil: h.raw("<span class=\"unknown\">unknown</span>")
        }
        h.raw("</td><td class=\"num\" data-label=\"last evaluation\">")
        if let status, let at = status.lastEvaluatedAt {
            h.ago(at, now: now)
            h.raw("<br><small>")
            h.text(WebFormat.seconds(RulesComponent.seconds(status.lastEvaluationDuration)))
            h.raw("</small>")
        } else {
            h.raw("<span class=\"muted\">never</span>")
        }
        h.raw("</td></tr>")
    }
}
