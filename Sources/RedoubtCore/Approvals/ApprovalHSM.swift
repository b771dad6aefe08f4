import Foundation

/// The approval calls are part of ``HSM`` itself: every implementation (``LocalHSM``,
/// `RemoteHSM`, ``FailoverHSM``) serves them, so nothing needs to cast to reach them.
@available(*, deprecated, renamed: "HSM", message: "approvals are part of the HSM protocol")
public typealias ApprovalHSM = HSM
