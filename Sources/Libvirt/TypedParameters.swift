import CLibvirt

/// Reads libvirt typed parameters (`virTypedParameter` arrays) into Swift dictionaries.
/// The array stays owned by whoever allocated it; strings are copied.
enum TypedParameters {
    static func read(_ params: virTypedParameterPtr?, count: Int32, numbers: inout [String: Double], strings: inout [String: String]) {
        guard let params, count > 0 else { return }
        for i in 0..<Int(count) {
            let p = params[i]
            let field = withUnsafeBytes(of: p.field) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            switch UInt32(bitPattern: p.type) {
            case VIR_TYPED_PARAM_INT.rawValue: numbers[field] = Double(p.value.i)
            case VIR_TYPED_PARAM_UINT.rawValue: numbers[field] = Double(p.value.ui)
            case VIR_TYPED_PARAM_LLONG.rawValue: numbers[field] = Double(p.value.l)
            case VIR_TYPED_PARAM_ULLONG.rawValue: numbers[field] = Double(p.value.ul)
            case VIR_TYPED_PARAM_DOUBLE.rawValue: numbers[field] = p.value.d
            case VIR_TYPED_PARAM_BOOLEAN.rawValue: numbers[field] = p.value.b != 0 ? 1 : 0
            case VIR_TYPED_PARAM_STRING.rawValue:
                if let s = p.value.s { strings[field] = String(cString: s) }
            default: continue  // a type newer than this wrapper: skip rather than guess
            }
        }
    }
}
