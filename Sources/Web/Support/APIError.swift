import Alarms
import Control
import Foundation
import Hummingbird
import StratusMetrics

/// An error rendered as ZStack's error body `{"error":{"code","description","details"}}` with its status.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var code: String
    public var description: String
    public var details: String

    public init(_ status: HTTPResponse.Status, code: String, description: String, details: String = "") {
        self.status = status
        self.code = code
        self.description = description
        self.details = details
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ["error": ["code": code, "description": description, "details": details]]
        return try JSONResponse.make(body, status: status)
    }

    /// Maps every module's errors to a status and code; unknown errors are 500 with their text.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as ControlError:
            switch e {
            case .invalidArgument: return APIError(.badRequest, code: "SYS.1007", description: "invalid argument", details: e.description)
            case .notFound: return APIError(.notFound, code: "SYS.1006", description: "resource not found", details: e.description)
            case .alreadyExists: return APIError(.conflict, code: "SYS.1008", description: "resource already exists", details: e.description)
            case .authenticationFailed: return APIError(.unauthorized, code: "ID.1001", description: "authentication failed", details: e.description)
            case .hypervisor: return APIError(.badGateway, code: "HOST.1000", description: "hypervisor error", details: e.description)
            case .storage: return APIError(.internalServerError, code: "SYS.1000", description: "internal error", details: e.description)
            }
        case let e as MetricsError:
            switch e {
            case .invalidMatcher, .invalidSample, .invalidQuery:
                return APIError(.badRequest, code: "SYS.1007", description: "invalid argument", details: e.description)
            case .storage, .corrupt:
                return APIError(.internalServerError, code: "SYS.1000", description: "internal error", details: e.description)
            }
        case let e as AlarmValidationError:
            return APIError(.badRequest, code: "SYS.1007", description: "invalid argument", details: "invalid '\(e.field)': \(e.reason)")
        case let e as AlarmNotFoundError:
            return APIError(.notFound, code: "SYS.1006", description: "resource not found", details: e.description)
        case let e as HTTPError:
            return APIError(e.status, code: "SYS.\(e.status.code)", description: e.status.reasonPhrase, details: e.body ?? "")
        default:
            return APIError(.internalServerError, code: "SYS.1000", description: "internal error", details: "\(error)")
        }
    }

    static func badArgument(_ field: String, _ reason: String) -> APIError {
        APIError(.badRequest, code: "SYS.1007", description: "invalid argument", details: "invalid '\(field)': \(reason)")
    }
}

/// Turns any thrown error into an `APIError` response.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError.from(error)
            if api.status.code >= 500 { context.logger.error("\(request.method) \(request.uri.path): \(error)") }
            return try api.response(from: request, context: context)
        }
    }
}
