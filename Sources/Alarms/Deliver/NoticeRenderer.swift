import Mustache

/// Renders notices into message text for an endpoint: its mustache `template` (its
/// `recoveryTemplate` for recovery notices), else the built-in ones — plain text, DingTalk
/// markdown, email subject + text + HTML. Several notices (a DingTalk summary) become one message.
///
/// Template variables are the keys of `NoticeFields` (`{{ALARM_NAME}}`, `{{EVENT_NAME}}`, …), the
/// section flags `IS_ALARM`, `IS_EVENT`, `IS_TEST`, `IS_FIRING`, `IS_REPEAT`, `IS_RECOVERY`,
/// `LABELS` (a list of `{{key}}`/`{{value}}`) and `LABELS_TEXT` (`k=v, k=v`). Custom templates
/// render as text (no HTML escaping).
public struct NoticeRenderer: Sendable {
    private let custom: MustacheTemplate?
    private let recovery: MustacheTemplate?
    /// Why a stored template could not be used (nil when fine). The built-in template replaced it
    /// so the notification still goes out; the API rejects such templates at create time.
    public let templateProblem: String?

    /// Compiles `template` and `recoveryTemplate`; one that does not compile is replaced by the
    /// built-in template and reported in `templateProblem`.
    public init(template: String?, recoveryTemplate: String?) {
        var problems: [String] = []
        func load(_ s: String?, field: String) -> MustacheTemplate? {
            guard let s, !s.isEmpty else { return nil }
            do {
                return try Self.compile(s, field: field)
            } catch {
                problems.append(error.description)
                return nil
            }
        }
        custom = load(template, field: "template")
        recovery = load(recoveryTemplate, field: "recoveryTemplate")
        templateProblem = problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    public init(endpoint: SNSEndpoint) {
        self.init(template: endpoint.template, recoveryTemplate: endpoint.recoveryTemplate)
    }

    // MARK: validation

    /// Throws `AlarmValidationError(field:)` when `template` is not valid mustache.
    public static func validate(template: String, field: String = "template") throws(AlarmValidationError) {
        _ = try compile(template, field: field)
    }

    /// Validates an endpoint's `template` and `recoveryTemplate` (field names as in the API).
    public static func validate(endpoint: SNSEndpoint) throws(AlarmValidationError) {
        if let t = endpoint.template { try validate(template: t, field: "template") }
        if let t = endpoint.recoveryTemplate { try validate(template: t, field: "recoveryTemplate") }
    }

    private static func compile(_ s: String, field: String) throws(AlarmValidationError) -> MustacheTemplate {
        do {
            // Parsed alone first so the error position is the user's own line and column.
            _ = try MustacheTemplate(string: s)
            return try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + s)
        } catch let e as MustacheTemplate.ParserError {
            throw AlarmValidationError(
                field: field,
                reason: "mustache template does not compile at line \(e.context.lineNumber), column \(e.context.columnNumber) "
                    + "('\(e.context.line)'): \(e.error); close every {{#name}} with {{/name}} and every {{ with }}")
        } catch {
            throw AlarmValidationError(field: field, reason: "mustache template does not compile: \(error)")
        }
    }

    // MARK: rendering

    /// The template for one notice: recovery template for recoveries, then the custom one.
    private func customTemplate(for f: NoticeFields) -> MustacheTemplate? {
        if f.flags["IS_RECOVERY"] == true, let recovery { return recovery }
        return custom
    }

    /// One line describing a notice (`[Important] cpu-high Firing: CPUAverageUsedUtilization 91 (>= 80) on vm-1`).
    public func line(_ f: NoticeFields) -> String {
        BuiltInTemplates.line.render(f.templateContext).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An email subject / DingTalk title: the notice's line, or a count for several.
    public func subject(_ items: [NoticeFields]) -> String {
        if items.count == 1 { return line(items[0]) }
        return Self.summaryHeading(items)
    }

    /// Plain text: the custom template, else the built-in text; several notices are a summary.
    public func text(_ items: [NoticeFields]) -> String {
        if items.count == 1 { return renderText(items[0], builtIn: BuiltInTemplates.text) }
        let parts = items.map { f in customTemplate(for: f).map { render($0, f) } ?? "- " + line(f) }
        let separator = customTemplate(for: items[0]) == nil ? "\n" : "\n\n---\n\n"
        return Self.summaryHeading(items) + "\n\n" + parts.joined(separator: separator) + "\n"
    }

    /// DingTalk markdown: the custom template, else the built-in markdown; several notices are a summary.
    public func markdown(_ items: [NoticeFields]) -> String {
        if items.count == 1 { return renderText(items[0], builtIn: BuiltInTemplates.markdown) }
        let parts = items.map { f in customTemplate(for: f).map { render($0, f) } ?? "- " + line(f) }
        let anyCustom = items.contains { customTemplate(for: $0) != nil }
        return "### " + Self.summaryHeading(items) + "\n\n" + parts.joined(separator: anyCustom ? "\n\n---\n\n" : "\n") + "\n"
    }

    /// An HTML document: the built-in table (or, with a custom template, its text in a `<pre>`).
    public func html(_ items: [NoticeFields]) -> String {
        let fragments = items.map { f -> String in
            if let t = customTemplate(for: f) { return "<pre style=\"font-family:monospace\">" + Self.htmlEscape(render(t, f)) + "</pre>" }
            return BuiltInTemplates.html.render(f.templateContext)
        }
        let heading = items.count == 1 ? "" : "<h2>" + Self.htmlEscape(Self.summaryHeading(items)) + "</h2>\n"
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n" + heading
            + fragments.joined(separator: "<hr>\n") + "\n<p style=\"color:#888\">Sent by Stratus</p>\n</body></html>\n"
    }

    private func renderText(_ f: NoticeFields, builtIn: MustacheTemplate) -> String {
        render(customTemplate(for: f) ?? builtIn, f)
    }

    private func render(_ t: MustacheTemplate, _ f: NoticeFields) -> String { t.render(f.templateContext) }

    /// `5 notifications: 3 alarms, 2 events`.
    static func summaryHeading(_ items: [NoticeFields]) -> String {
        var counts: [(String, Int)] = []
        for (type, noun) in [("Alarm", "alarm"), ("Event", "event"), ("Test", "test")] {
            let n = items.filter { $0["NOTIFICATION_TYPE"] == type }.count
            if n > 0 { counts.append((noun + (n == 1 ? "" : "s"), n)) }
        }
        return "Stratus: \(items.count) notifications (" + counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ") + ")"
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension NoticeFields {
    /// The fields of every notice of an attempt, with its idempotency key.
    public static func of(_ attempt: DeliveryAttempt) -> [NoticeFields] {
        attempt.notices.enumerated().map { i, n in
            NoticeFields(n, idempotencyKey: i < attempt.idempotencyKeys.count ? attempt.idempotencyKeys[i] : nil)
        }
    }
}
