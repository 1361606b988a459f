/// Alarms: metric and event alarm rules, the evaluator, SNS topics and endpoints, and the durable
/// outbox that delivers email, DingTalk and HTTP notifications. The module is laid out by the
/// foundation so the package shape is final; its content arrives with the alarms issue.
public enum Alarms {}
