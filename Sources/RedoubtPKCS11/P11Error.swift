import CPKCS11
import RedoubtCore

/// A PKCS #11 return value with the reason behind it, for the module's log. Every entry point
/// ends in one: nothing thrown crosses the C boundary.
struct P11Error: Error, CustomStringConvertible {
    /// What the caller gets.
    var rv: CK_RV
    /// Why, for the log (never a secret).
    var message: String

    /// Whether a broker's rate limit refused the call (worth trying again shortly).
    var rateLimited = false

    init(_ rv: CK_RV, _ message: String = "") {
        self.rv = rv
        self.message = message
    }

    var description: String { "\(P11Error.name(rv)) \(message)" }

    static let argumentsBad = P11Error(CK_RV(CKR_ARGUMENTS_BAD), "a required pointer is null or a length is out of range")
    static let notInitialized = P11Error(CK_RV(CKR_CRYPTOKI_NOT_INITIALIZED), "C_Initialize has not been called")
    static let sessionHandleInvalid = P11Error(CK_RV(CKR_SESSION_HANDLE_INVALID), "no such session")
    static let objectHandleInvalid = P11Error(CK_RV(CKR_OBJECT_HANDLE_INVALID), "no such object")
    static let slotIDInvalid = P11Error(CK_RV(CKR_SLOT_ID_INVALID), "no such slot")
    static let userNotLoggedIn = P11Error(CK_RV(CKR_USER_NOT_LOGGED_IN), "log in first")
    static let operationNotInitialized = P11Error(CK_RV(CKR_OPERATION_NOT_INITIALIZED), "no such operation is active in this session")
    static let operationActive = P11Error(CK_RV(CKR_OPERATION_ACTIVE), "an operation of this kind is already active in this session")

    /// The PKCS #11 reading of an error the HSM reported (docs/pkcs11.md has the table).
    init(hsm error: HSMError, context: Context = .general) {
        let rv: UInt
        let key = context == .key || context == .decryption
        switch error.code {
        case .unauthenticated: rv = context == .login ? CKR_PIN_INCORRECT : CKR_USER_NOT_LOGGED_IN
        case .permissionDenied:
            rv = context == .object ? CKR_ACTION_PROHIBITED : (key ? CKR_KEY_FUNCTION_NOT_PERMITTED : CKR_USER_NOT_LOGGED_IN)
        case .failedPrecondition:
            if error.pendingRequest != nil {
                rv = CKR_FUNCTION_REJECTED
            } else {
                rv = key ? CKR_KEY_FUNCTION_NOT_PERMITTED : CKR_ACTION_PROHIBITED
            }
        case .notFound: rv = key ? CKR_KEY_HANDLE_INVALID : CKR_OBJECT_HANDLE_INVALID
        case .invalidArgument:
            switch context {
            case .template: rv = CKR_TEMPLATE_INCONSISTENT
            case .decryption: rv = CKR_ENCRYPTED_DATA_INVALID
            default: rv = CKR_DATA_INVALID
            }
        case .alreadyExists: rv = CKR_TEMPLATE_INCONSISTENT
        case .resourceExhausted: rv = error.message.hasPrefix("rate limit") ? CKR_FUNCTION_FAILED : CKR_DEVICE_MEMORY
        case .unavailable, .deadlineExceeded, .cancelled, .aborted: rv = CKR_DEVICE_ERROR
        default: rv = CKR_FUNCTION_FAILED
        }
        var message = "\(error.code): \(error.message)"
        if let request = error.pendingRequest {
            message += " (approval request \(request.id) is pending: `redoubt requests get \(request.id)`)"
        }
        self.init(CK_RV(rv), message)
        rateLimited = error.code == .resourceExhausted && error.message.hasPrefix("rate limit")
    }

    /// What a failed HSM call was doing, where that decides the PKCS #11 code. `decryption` is a
    /// key use whose bad input is a ciphertext (CKR_ENCRYPTED_DATA_INVALID).
    enum Context { case general, login, key, decryption, object, template }

    /// The `CKR_*` name of a return value, for the log.
    static func name(_ rv: CK_RV) -> String {
        switch UInt(rv) {
        case CKR_OK: return "CKR_OK"
        case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD"
        case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE"
        case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID"
        case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID"
        case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY"
        case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL"
        case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED"
        case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED"
        case CKR_DATA_INVALID: return "CKR_DATA_INVALID"
        case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE"
        case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR"
        case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY"
        case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED"
        case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED"
        case CKR_FUNCTION_REJECTED: return "CKR_FUNCTION_REJECTED"
        case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR"
        case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED"
        case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID"
        case CKR_KEY_SIZE_RANGE: return "CKR_KEY_SIZE_RANGE"
        case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT"
        case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID"
        case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID"
        case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID"
        case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE"
        case CKR_OPERATION_NOT_INITIALIZED: return "CKR_OPERATION_NOT_INITIALIZED"
        case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT"
        case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE"
        case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID"
        case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY"
        case CKR_SESSION_READ_ONLY_EXISTS: return "CKR_SESSION_READ_ONLY_EXISTS"
        case CKR_SESSION_PARALLEL_NOT_SUPPORTED: return "CKR_SESSION_PARALLEL_NOT_SUPPORTED"
        case CKR_SIGNATURE_INVALID: return "CKR_SIGNATURE_INVALID"
        case CKR_SIGNATURE_LEN_RANGE: return "CKR_SIGNATURE_LEN_RANGE"
        case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID"
        case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE"
        case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT"
        case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED"
        case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN"
        case CKR_USER_ANOTHER_ALREADY_LOGGED_IN: return "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"
        case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN"
        case CKR_USER_TYPE_INVALID: return "CKR_USER_TYPE_INVALID"
        case CKR_ACTION_PROHIBITED: return "CKR_ACTION_PROHIBITED"
        case CKR_CANT_LOCK: return "CKR_CANT_LOCK"
        case CKR_NEED_TO_CREATE_THREADS: return "CKR_NEED_TO_CREATE_THREADS"
        case CKR_RANDOM_SEED_NOT_SUPPORTED: return "CKR_RANDOM_SEED_NOT_SUPPORTED"
        default: return "CKR_0x" + String(UInt(rv), radix: 16)
        }
    }
}
