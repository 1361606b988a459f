/// Billing: prices with history, usage intervals from Control's resource event log, rating, bills
/// and CSV export. The module is laid out by the foundation so the package shape is final; its
/// content arrives with the billing issue.
public enum Billing {}
