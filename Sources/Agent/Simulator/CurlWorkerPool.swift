import CCurl
import Control
import Foundation

/// A fixed set of threads, each owning one curl easy handle it reuses for every request, so
/// connections stay open (HTTP keep-alive) and ~1,000 requests/s cost no connection setup.
/// `CurlHTTPClient` makes a handle per request on NIO's pool; this is for one process sending
/// steadily to one manager (the simulator; an agent could use it too).
///
/// Jobs wait in two lanes: urgent ones (logins, VM reports) go first and are never dropped; bulk
/// ones (metric batches) are bounded, and past `bulkCapacity` the oldest waiting bulk job is
/// dropped and counted.
///
/// ```swift
/// let pool = CurlWorkerPool(workers: 8, bulkCapacity: 10_000)
/// let reply = try pool.perform(OutboundRequest(method: "GET", url: "http://127.0.0.1:8080/healthz"))
/// pool.submit { conn in _ = try? conn.perform(request) }
/// pool.shutdown()
/// ```
// @unchecked Sendable: every mutable field is guarded by `condition` (an NSCondition lock).
public final class CurlWorkerPool: @unchecked Sendable {
    public typealias Job = @Sendable (CurlConnection) -> Void

    private let condition = NSCondition()
    private var urgent: [Job] = []
    private var urgentHead = 0
    private var bulk: [Job] = []
    private var bulkHead = 0
    private var busy = 0
    private var stopping = false
    private var alive = 0
    private var droppedCount = 0
    public let bulkCapacity: Int

    public init(workers: Int, bulkCapacity: Int) {
        self.bulkCapacity = max(1, bulkCapacity)
        _ = CurlConnection.globalInit
        alive = max(1, workers)
        for i in 0..<alive {
            let t = Thread { [self] in self.work() }
            t.name = "stratus-curl-\(i)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Queues a job for a worker. Returns true when a waiting bulk job was dropped to make room.
    @discardableResult
    public func submit(urgent isUrgent: Bool = false, _ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        var dropped = false
        if isUrgent {
            urgent.append(job)
        } else {
            if bulk.count - bulkHead >= bulkCapacity {
                bulkHead += 1
                droppedCount += 1
                dropped = true
            }
            bulk.append(job)
            Self.compact(&bulk, &bulkHead)
        }
        condition.signal()
        return dropped
    }

    /// Sends one request on a worker and waits for it (an urgent job).
    public func perform(_ request: OutboundRequest) throws -> CurlReply {
        let box = ResultBox()
        submit(urgent: true) { conn in box.set(Result { try conn.perform(request) }) }
        return try box.wait().get()
    }

    /// Jobs waiting (not yet picked up by a worker).
    public var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return (urgent.count - urgentHead) + (bulk.count - bulkHead)
    }

    /// Jobs a worker is running now.
    public var running: Int {
        condition.lock()
        defer { condition.unlock() }
        return busy
    }

    /// Bulk jobs dropped so far because the lane was full.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }

    /// Waits until nothing is waiting or running, or `timeout` seconds pass; true when idle.
    @discardableResult
    public func waitIdle(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while (urgent.count - urgentHead) + (bulk.count - bulkHead) + busy > 0 {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    /// Drops waiting jobs, lets running ones finish, and ends the threads.
    public func shutdown() {
        condition.lock()
        stopping = true
        urgent.removeAll(); urgentHead = 0
        bulk.removeAll(); bulkHead = 0
        condition.broadcast()
        while alive > 0 { condition.wait() }
        condition.unlock()
    }

    private func work() {
        let connection: CurlConnection
        do {
            connection = try CurlConnection()
        } catch {
            condition.lock(); alive -= 1; condition.broadcast(); condition.unlock()
            return
        }
        condition.lock()
        while true {
            if stopping { break }
            let job: Job
            if urgentHead < urgent.count {
                job = urgent[urgentHead]
                urgentHead += 1
                Self.compact(&urgent, &urgentHead)
            } else if bulkHead < bulk.count {
                job = bulk[bulkHead]
                bulkHead += 1
                Self.compact(&bulk, &bulkHead)
            } else {
                condition.wait()
                continue
            }
            busy += 1
            condition.unlock()
            job(connection)
            condition.lock()
            busy -= 1
            condition.broadcast()
        }
        alive -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Drops the consumed prefix of a FIFO array once it is most of the array.
    private static func compact(_ a: inout [Job], _ head: inout Int) {
        if head == a.count {
            a.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > a.count {
            a.removeFirst(head)
            head = 0
        }
    }

    /// One result handed from a worker to a waiting caller.
    // @unchecked Sendable: `value` is only touched under `condition`'s lock.
    private final class ResultBox: @unchecked Sendable {
        private let condition = NSCondition()
        private var value: Result<CurlReply, any Error>?

        func set(_ r: Result<CurlReply, any Error>) {
            condition.lock()
            value = r
            condition.signal()
            condition.unlock()
        }

        func wait() -> Result<CurlReply, any Error> {
            condition.lock()
            defer { condition.unlock() }
            while value == nil { condition.wait() }
            return value!
        }
    }
}

/// One curl easy handle, reused request after request (its connection cache keeps the TCP
/// connection open). Used by one thread at a time.
public final class CurlConnection {
    static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let handle: UnsafeMutableRawPointer
    private let sink = Sink()

    /// Accumulates the response body from libcurl's callback.
    final class Sink {
        var body: [UInt8] = []
    }

    init() throws {
        guard let h = curl_easy_init() else {
            throw OutboundHTTPError.invalidRequest("curl_easy_init failed (out of memory?)")
        }
        handle = h
    }

    deinit { curl_easy_cleanup(handle) }

    /// Sends `request` and reads the status and body (response headers are not kept).
    public func perform(_ request: OutboundRequest) throws -> CurlReply {
        curl_easy_reset(handle)  // keeps the live connection
        sink.body.removeAll(keepingCapacity: true)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for h in request.headers {
            guard !h.name.contains(where: { $0 == ":" || $0.isNewline }), !h.value.contains(where: \.isNewline) else {
                throw OutboundHTTPError.invalidRequest("header '\(h.name)' contains ':' or a line break")
            }
            headerList = curl_slist_append(headerList, "\(h.name): \(h.value)")
        }
        headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        let code: CURLcode = try errorBuffer.withUnsafeMutableBufferPointer { errBuf in
            try set(CURLOPT_URL, request.url)
            try set(CURLOPT_CUSTOMREQUEST, request.method)
            try set(CURLOPT_NOSIGNAL, 1)
            try set(CURLOPT_TIMEOUT_MS, Int(request.timeout))
            try set(CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout))
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errBuf.baseAddress), "CURLOPT_ERRORBUFFER")
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER")
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer), "CURLOPT_WRITEDATA")
            let write: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { ptr, size, n, ctx in
                let sink = Unmanaged<Sink>.fromOpaque(ctx!).takeUnretainedValue()
                ptr.map { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: $0, count: size * n)) }
                return size * n
            }
            try check(stratus_curl_setopt_pointer(handle, CURLOPT_WRITEFUNCTION, unsafeBitCast(write, to: UnsafeMutableRawPointer.self)),
                      "CURLOPT_WRITEFUNCTION")
            let hasBody = !request.body.isEmpty || request.method == "POST" || request.method == "PUT"
            guard hasBody else { return curl_easy_perform(handle) }
            try set(CURLOPT_POSTFIELDSIZE, request.body.count)
            return try request.body.withUnsafeBytes { b in
                // POSTFIELDS does not copy: the buffer lives until curl_easy_perform returns.
                try check(stratus_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS,
                                                      UnsafeMutableRawPointer(mutating: b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)),
                          "CURLOPT_POSTFIELDS")
                return curl_easy_perform(handle)
            }
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if code == CURLE_OPERATION_TIMEDOUT { throw OutboundHTTPError.timedOut(url: request.url, afterMs: request.timeout) }
            throw OutboundHTTPError.transport(url: request.url, code: Int32(code.rawValue),
                                              message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = stratus_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return CurlReply(status: status, body: sink.body)
    }

    private func set(_ option: CURLoption, _ value: String) throws {
        try check(stratus_curl_setopt_string(handle, option, value), "\(option)")
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(stratus_curl_setopt_long(handle, option, value), "\(option)")
    }

    private func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw OutboundHTTPError.invalidRequest("curl_easy_setopt(\(what)): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

/// What came back from a `CurlConnection`: the status and body (any status is a reply; only
/// transport failures throw).
public struct CurlReply: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}
