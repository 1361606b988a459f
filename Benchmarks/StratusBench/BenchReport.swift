import Foundation

/// The benchmark's figures and their Markdown table.
struct BenchReport {
    var fleet: Fleet
    var size: FleetOptions
    var fileBytes: Int64
    var vm: VMFigures
    var stratus: StratusIngestFigures
    var bulk: BulkIngestFigures?
    var stratusHWM: Int64
    var queries: [BenchQuery]
    var vmLatency: [Double]
    var stratusLatency: [Double]
    var agreement: [String?]
    var active: ActiveSeriesFigures?
    var activeTarget: Int
    var runSeconds: Double

    func f(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
    func mib(_ b: Int64) -> String { f(Double(b) / 1_048_576, 0) + " MiB" }
    func yes(_ ok: Bool) -> String { ok ? "yes" : "**no**" }

    func markdown() -> String {
        let samples = Double(fleet.sampleCount)
        let sRate = Double(stratus.accepted) / stratus.ingestSeconds
        let vRate = samples / vm.ingestSeconds
        let sBytes = Double(stratus.diskBytesAfterFlush) / samples
        let vBytes = Double(vm.diskAfterFlush) / samples
        let vMerged = Double(vm.diskAfterMerge) / samples
        var rows: [String] = [
            "| metric | Stratus | VictoriaMetrics | target | met? |",
            "|---|---|---|---|---|",
            "| ingest, samples/s: the same JSON-lines files, first byte read to data flushed | \(Int(sRate)) | \(Int(vRate)) | >= 1.5x VM (\(Int(vRate * 1.5))) | \(yes(sRate >= 1.5 * vRate)) |",
            "| ingest time, s | \(f(stratus.ingestSeconds, 1)) (import + flush) | \(f(vm.ingestSeconds, 1)) (POST \(f(vm.postSeconds, 1)) + flush \(f(vm.flushSeconds, 1)) + wait \(f(vm.visibleWaitSeconds, 1))) | | |",
            "| disk, bytes/sample after flush | \(f(sBytes, 3)) | \(f(vBytes, 3)) | <= VM | \(yes(sBytes <= vBytes)) |",
            "| disk, bytes/sample after VM force_merge | \(f(sBytes, 3)) | \(f(vMerged, 3)) | (info) | \(sBytes <= vMerged ? "yes" : "no") |",
            "| peak RSS (ingest + queries) | \(mib(stratusHWM)) | \(mib(vm.vmHWM)) | (info) | |",
        ]
        if let b = bulk {
            rows.append("| bulk append API alone, samples/s: series-major batches, generation not timed, `append` + `flush()` timed | \(Int(Double(b.accepted) / b.appendSeconds)) | | (info) | |")
        }
        for (i, q) in queries.enumerated() {
            rows.append("| \(q.name), median of 5, ms | \(f(stratusLatency[i])) | \(f(vmLatency[i])) | <= VM | \(yes(stratusLatency[i] <= vmLatency[i])) |")
        }
        for (i, q) in queries.enumerated() {
            rows.append("| \(q.name.prefix(2)) answers | \(agreement[i] == nil ? "AGREE" : "DISAGREE") | | same series, values within 1e-9 | \(yes(agreement[i] == nil)) |")
        }
        if let a = active {
            let per = a.rssPerSeries
            rows.append("| resident bytes per active series (\(a.series) series, whole VmRSS / series) | \(Int(per)) | | <= 1024 | \(yes(per <= 1024)) |")
            rows.append("| … RSS added by the series ((VmRSS − empty-store VmRSS) / series) | \(Int(a.addedRSSPerSeries)) | | (info) | |")
            rows.append("| \(a.series) active series: VmRSS / VmHWM / memoryFootprint | \(mib(a.vmRSS)) / \(mib(a.vmHWM)) / \(mib(Int64(a.memoryFootprint))) | | 2 M series < 4 GiB | \(a.series >= 2_000_000 ? yes(a.vmHWM < 4 << 30) : "n/a (smaller run)") |")
        } else if activeTarget > 0 {
            rows.append("| active series | failed | | | **no** |")
        }
        var text = "# Stratus vs VictoriaMetrics\n\n"
        text += "- date: \(ISO8601DateFormatter().string(from: Date()))\n"
        text += "- machine: \(ProcessInfo.processInfo.activeProcessorCount) CPUs (nproc), \(mib(Int64(ProcessInfo.processInfo.physicalMemory))) RAM\n"
        text += "- data: \(size.vms) VMs + \(size.hosts) hosts, \(size.hours) h at 10 s: \(fleet.seriesCount) series, \(fleet.sampleCount) samples (VM import files \(mib(fileBytes)) of JSON lines)\n"
        text += "- versions: Stratus 0.1.0 (release build), VictoriaMetrics \(vm.version)\n"
        text += "- Stratus ingest (headline row): a child process imports the very JSON-lines files VictoriaMetrics got, through its own import path (`PipelinedImporter`, as `stratus import`: one parser thread per file — read, parse, resolve series — handing 100 k-sample batches to one appender; each `append` is one durable WAL commit). Timed from opening the files to `flush()` returning (heads checkpointed, RocksDB flushed and compacted).\n"
        text += "- Stratus bulk API (info row): another child appends series-major `SampleBatch`es of 100 k samples (each series' hour of points together, as in the files) straight to the store; generating the values is not timed, `seriesRef` + `append` + the final `flush()` are.\n"
        text += "- VictoriaMetrics ingest: two concurrent curl POSTs to /api/v1/import from the first byte to the last reply, plus /internal/force_flush, plus any wait until `sum(count_over_time(...))` sees every sample (\(vm.samplesVisible) seen).\n"
        text += "- queries: over HTTP on loopback, 5 runs each, median; VictoriaMetrics with -search.disableCache and nocache=1. Answers compared without `__name__` (VictoriaMetrics 1.79 keeps it on `*_over_time` results, Prometheus drops it).\n"
        text += "- whole run: \(f(runSeconds / 60, 1)) min\n\n"
        text += rows.joined(separator: "\n") + "\n"
        let diffs = zip(queries, agreement).compactMap { q, d in d.map { "- \(q.name): \($0)" } }
        if !diffs.isEmpty { text += "\nFirst differences:\n" + diffs.joined(separator: "\n") + "\n" }
        return text
    }
}
