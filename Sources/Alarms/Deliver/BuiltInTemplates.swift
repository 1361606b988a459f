import Mustache

/// The built-in message templates (mustache over `NoticeFields.templateContext`), used when an
/// endpoint has no template of its own.
enum BuiltInTemplates {
    /// One line: email subject (after `[Stratus] `), DingTalk title, summary bullet.
    static let line = compile("""
        {{% CONTENT_TYPE: TEXT}}{{#IS_ALARM}}[{{ALARM_EMERGENCY_LEVEL}}] {{ALARM_NAME}} {{ALARM_NOTIFICATION_KIND}}: \
        {{ALARM_METRIC}} {{ALARM_CURRENT_VALUE}} ({{ALARM_COMPARISON_SYMBOL}} {{ALARM_THRESHOLD}}) on {{ALARM_RESOURCE_ID}}\
        {{/IS_ALARM}}{{#IS_EVENT}}[{{EVENT_EMERGENCY_LEVEL}}] {{EVENT_NAME}} on {{EVENT_RESOURCE_ID}} \
        ({{EVENT_SUBSCRIPTION_NAME}}){{/IS_EVENT}}{{#IS_TEST}}Test notification for endpoint {{TEST_ENDPOINT_UUID}}{{/IS_TEST}}
        """)

    static let text = compile("""
        {{% CONTENT_TYPE: TEXT}}
        {{#IS_ALARM}}
        [{{ALARM_EMERGENCY_LEVEL}}] Alarm {{ALARM_NAME}}: {{ALARM_NOTIFICATION_KIND}}
        Status:    {{ALARM_PREVIOUS_STATUS}} -> {{ALARM_CURRENT_STATUS}}
        Condition: {{ALARM_NAMESPACE}} {{ALARM_METRIC}} {{ALARM_COMPARISON_SYMBOL}} {{ALARM_THRESHOLD}}
        Value:     {{ALARM_CURRENT_VALUE}}
        Resource:  {{ALARM_RESOURCE_ID}}
        Labels:    {{LABELS_TEXT}}
        Time:      {{ALARM_TIME_TEXT}}
        Alarm:     {{ALARM_UUID}}
        {{/IS_ALARM}}
        {{#IS_EVENT}}
        [{{EVENT_EMERGENCY_LEVEL}}] Event {{EVENT_NAME}} ({{EVENT_NAMESPACE}})
        Resource:     {{EVENT_RESOURCE_TYPE}} {{EVENT_RESOURCE_ID}}
        Labels:       {{LABELS_TEXT}}
        Time:         {{EVENT_TIME_TEXT}}
        Subscription: {{EVENT_SUBSCRIPTION_NAME}} ({{EVENT_SUBSCRIPTION_UUID}})
        {{/IS_EVENT}}
        {{#IS_TEST}}
        Test notification from Stratus for endpoint {{TEST_ENDPOINT_UUID}}, requested by {{TEST_REQUESTED_BY}} at {{TEST_TIME_TEXT}}.
        {{/IS_TEST}}
        Idempotency key: {{IDEMPOTENCY_KEY}}

        """)

    static let markdown = compile("""
        {{% CONTENT_TYPE: TEXT}}
        {{#IS_ALARM}}
        ### [{{ALARM_EMERGENCY_LEVEL}}] {{ALARM_NAME}}: {{ALARM_NOTIFICATION_KIND}}
        - **Status**: {{ALARM_PREVIOUS_STATUS}} → {{ALARM_CURRENT_STATUS}}
        - **Condition**: {{ALARM_NAMESPACE}} `{{ALARM_METRIC}}` {{ALARM_COMPARISON_SYMBOL}} {{ALARM_THRESHOLD}}
        - **Value**: **{{ALARM_CURRENT_VALUE}}**
        - **Resource**: {{ALARM_RESOURCE_ID}}
        - **Labels**: {{LABELS_TEXT}}
        - **Time**: {{ALARM_TIME_TEXT}}
        {{/IS_ALARM}}
        {{#IS_EVENT}}
        ### [{{EVENT_EMERGENCY_LEVEL}}] Event {{EVENT_NAME}}
        - **Resource**: {{EVENT_RESOURCE_TYPE}} {{EVENT_RESOURCE_ID}}
        - **Labels**: {{LABELS_TEXT}}
        - **Time**: {{EVENT_TIME_TEXT}}
        - **Subscription**: {{EVENT_SUBSCRIPTION_NAME}}
        {{/IS_EVENT}}
        {{#IS_TEST}}
        ### Stratus test notification
        Endpoint {{TEST_ENDPOINT_UUID}}, requested by {{TEST_REQUESTED_BY}} at {{TEST_TIME_TEXT}}.
        {{/IS_TEST}}
        """)

    /// An HTML fragment (a table); values are HTML-escaped.
    static let html = compile("""
        {{#IS_ALARM}}
        <h3>[{{ALARM_EMERGENCY_LEVEL}}] Alarm {{ALARM_NAME}}: {{ALARM_NOTIFICATION_KIND}}</h3>
        <table cellpadding="4">
        <tr><th align="left">Status</th><td>{{ALARM_PREVIOUS_STATUS}} &rarr; {{ALARM_CURRENT_STATUS}}</td></tr>
        <tr><th align="left">Condition</th><td>{{ALARM_NAMESPACE}} {{ALARM_METRIC}} {{ALARM_COMPARISON_SYMBOL}} {{ALARM_THRESHOLD}}</td></tr>
        <tr><th align="left">Value</th><td><b>{{ALARM_CURRENT_VALUE}}</b></td></tr>
        <tr><th align="left">Resource</th><td>{{ALARM_RESOURCE_ID}}</td></tr>
        <tr><th align="left">Labels</th><td>{{LABELS_TEXT}}</td></tr>
        <tr><th align="left">Time</th><td>{{ALARM_TIME_TEXT}}</td></tr>
        </table>
        {{/IS_ALARM}}
        {{#IS_EVENT}}
        <h3>[{{EVENT_EMERGENCY_LEVEL}}] Event {{EVENT_NAME}}</h3>
        <table cellpadding="4">
        <tr><th align="left">Resource</th><td>{{EVENT_RESOURCE_TYPE}} {{EVENT_RESOURCE_ID}}</td></tr>
        <tr><th align="left">Labels</th><td>{{LABELS_TEXT}}</td></tr>
        <tr><th align="left">Time</th><td>{{EVENT_TIME_TEXT}}</td></tr>
        <tr><th align="left">Subscription</th><td>{{EVENT_SUBSCRIPTION_NAME}}</td></tr>
        </table>
        {{/IS_EVENT}}
        {{#IS_TEST}}
        <p>Test notification from Stratus for endpoint {{TEST_ENDPOINT_UUID}}, requested by {{TEST_REQUESTED_BY}} at {{TEST_TIME_TEXT}}.</p>
        {{/IS_TEST}}
        """)

    private static func compile(_ s: String) -> MustacheTemplate {
        do { return try MustacheTemplate(string: s) } catch { preconditionFailure("built-in template does not compile: \(error)") }
    }
}
