import Alarms

/// Checks an endpoint's message templates before they are stored, so a typo is a 400 naming the
/// field (`template` / `recoveryTemplate`) at creation rather than a failed delivery later.
enum EndpointTemplates {
    static func check(_ e: SNSEndpoint) throws(AlarmValidationError) {
        try NoticeRenderer.validate(endpoint: e)
    }
}
