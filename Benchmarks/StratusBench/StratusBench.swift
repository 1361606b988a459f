// Replaced by the benchmark harness (issue 3); exists so the package builds meanwhile.
@main struct StratusBench { static func main() { print("stratus-bench: not built yet") } }
