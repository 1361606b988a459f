import Foundation
import Mustache

/// Renders the mustache templates shipped in the Web module's `Templates` resource folder.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Loads every `*.mustache` template; a template that does not parse fails start-up with its name.
    public static func load() async throws -> PageRenderer {
        guard let dir = Bundle.module.resourceURL?.appendingPathComponent("Templates").path else {
            throw WebError.templatesMissing("the Web module's Templates resource folder is not in the bundle")
        }
        return PageRenderer(library: try await MustacheLibrary(directory: dir))
    }

    /// The page `name` inside the common layout (`header` / `footer` partials).
    func page(_ name: String, title: String, _ values: [String: Any]) -> HTMLPage {
        var context = values
        context["title"] = title
        context["product"] = "Stratus"
        guard let html = library.render(context, withTemplate: name) else {
            return HTMLPage(html: "<h1>template '\(name)' is missing</h1>", status: .internalServerError)
        }
        return HTMLPage(html: html)
    }
}

/// Errors starting the web layer.
public enum WebError: Error, CustomStringConvertible {
    case templatesMissing(String)
    public var description: String {
        switch self { case let .templatesMissing(why): "web templates: \(why)" }
    }
}
