import CPKCS11
import Foundation
import RedoubtCore
import RedoubtCrypto

// Objects: search, attributes, generation, creation (certificates) and destruction.

@_cdecl("C_FindObjectsInit")
public func C_FindObjectsInit(_ hSession: CK_SESSION_HANDLE, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulCount: CK_ULONG) -> CK_RV {
    entry("C_FindObjectsInit") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard session.found == nil else { throw .operationActive }
        let template = try Template(pTemplate, ulCount)
        // Before login nothing is visible: every object of a partition needs a Redoubt session.
        let found: [CK_OBJECT_HANDLE]
        do throws(P11Error) {
            found = try runtime.find(slot: session.slot, template: template)
        } catch  where error.rv == CK_RV(CKR_USER_NOT_LOGGED_IN) {
            found = []
        }
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.found == nil else { throw .operationActive }
            s.found = found
        }
    }
}

@_cdecl("C_FindObjects")
public func C_FindObjects(
    _ hSession: CK_SESSION_HANDLE, _ phObject: UnsafeMutablePointer<CK_OBJECT_HANDLE>?, _ ulMaxObjectCount: CK_ULONG,
    _ pulObjectCount: UnsafeMutablePointer<CK_ULONG>?
) -> CK_RV {
    entry("C_FindObjects") { () throws(P11Error) in
        let runtime = try Module.runtime()
        guard let pulObjectCount, phObject != nil || ulMaxObjectCount == 0 else { throw .argumentsBad }
        let batch = try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) -> [CK_OBJECT_HANDLE] in
            guard let found = s.found else { throw .operationNotInitialized }
            let n = min(Int(min(ulMaxObjectCount, CK_ULONG(Int.max))), found.count)
            s.found = Array(found.dropFirst(n))
            return Array(found.prefix(n))
        }
        for (i, h) in batch.enumerated() { phObject![i] = h }
        pulObjectCount.pointee = CK_ULONG(batch.count)
    }
}

@_cdecl("C_FindObjectsFinal")
public func C_FindObjectsFinal(_ hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_FindObjectsFinal") { () throws(P11Error) in
        let runtime = try Module.runtime()
        try runtime.updateSession(hSession) { (s: inout SessionState) throws(P11Error) in
            guard s.found != nil else { throw .operationNotInitialized }
            s.found = nil
        }
    }
}

@_cdecl("C_GetAttributeValue")
public func C_GetAttributeValue(
    _ hSession: CK_SESSION_HANDLE, _ hObject: CK_OBJECT_HANDLE, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulCount: CK_ULONG
) -> CK_RV {
    entry("C_GetAttributeValue") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard ulCount <= CK_ULONG(Template.maximumCount), pTemplate != nil || ulCount == 0 else { throw .argumentsBad }
        let (ref, snapshot) = try runtime.object(hObject, session: session)
        var values = ObjectAttributes.all(ref, snapshot)
        // The value of a secret key that is neither sensitive nor unextractable is read from the
        // HSM (an audited export), and only when asked for; if the HSM refuses, it stays secret.
        let value = CK_ATTRIBUTE_TYPE(CKA_VALUE)
        if ref.kind == .secretKey, case .key(let key) = snapshot, !key.sensitive, key.extractable,
            (0..<Int(ulCount)).contains(where: { pTemplate![$0].type == value })
        {
            let id = key.id
            if let plain = try? runtime.call(slot: session.slot, context: .key, { hsm, token in try await hsm.exportPlaintext(token, id: id) }) {
                values[value] = .bytes(plain.withUnsafeBytes { Data($0) })
            }
        }
        var failure: P11Error?
        for i in 0..<Int(ulCount) {
            let attribute = pTemplate![i]
            switch values[attribute.type] {
            case nil:
                pTemplate![i].ulValueLen = CK_ULONG.max
                failure = failure ?? P11Error(CK_RV(CKR_ATTRIBUTE_TYPE_INVALID), "the object has no attribute 0x\(String(UInt(attribute.type), radix: 16))")
            case .sensitive?:
                pTemplate![i].ulValueLen = CK_ULONG.max
                failure = failure ?? P11Error(CK_RV(CKR_ATTRIBUTE_SENSITIVE), "attribute 0x\(String(UInt(attribute.type), radix: 16)) is secret")
            case .bytes(let bytes)?:
                if let p = attribute.pValue {
                    if attribute.ulValueLen >= CK_ULONG(bytes.count) {
                        bytes.copyBytes(to: p.assumingMemoryBound(to: UInt8.self), count: bytes.count)
                        pTemplate![i].ulValueLen = CK_ULONG(bytes.count)
                    } else {
                        pTemplate![i].ulValueLen = CK_ULONG.max
                        failure = failure ?? P11Error(CK_RV(CKR_BUFFER_TOO_SMALL))
                    }
                } else {
                    pTemplate![i].ulValueLen = CK_ULONG(bytes.count)
                }
            }
        }
        if let failure { throw failure }
    }
}

@_cdecl("C_SetAttributeValue")
public func C_SetAttributeValue(
    _ hSession: CK_SESSION_HANDLE, _ hObject: CK_OBJECT_HANDLE, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulCount: CK_ULONG
) -> CK_RV {
    entry("C_SetAttributeValue") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        let template = try Template(pTemplate, ulCount)
        let (ref, snapshot) = try runtime.object(hObject, session: session)
        try runtime.requireReadWrite(session)
        guard case .key(let key) = snapshot else { throw P11Error(CK_RV(CKR_ACTION_PROHIBITED), "certificates cannot be changed") }
        var update = KeyAttributeUpdate()
        for (type, _) in template.values {
            switch UInt(type) {
            case CKA_LABEL:
                guard let label = try template.string(CKA_LABEL), !label.isEmpty else {
                    throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "a label is 1 to 128 printable characters")
                }
                update.label = label
            case CKA_ID: update.applicationID = template.bytes(CKA_ID)
            case CKA_SUBJECT: update.subject = template.bytes(CKA_SUBJECT)
            // Security attributes may only become stricter (the HSM enforces it too).
            case CKA_EXTRACTABLE: update.extractable = try template.bool(CKA_EXTRACTABLE)
            case CKA_SENSITIVE: update.sensitive = try template.bool(CKA_SENSITIVE)
            case CKA_MODIFIABLE: update.modifiable = try template.bool(CKA_MODIFIABLE)
            case CKA_DESTROYABLE: update.destroyable = try template.bool(CKA_DESTROYABLE)
            default:
                throw P11Error(CK_RV(CKR_ATTRIBUTE_READ_ONLY), "attribute 0x\(String(UInt(type), radix: 16)) cannot be changed")
            }
        }
        let requested = update
        let changed = try runtime.call(slot: ref.slot, context: .object) { hsm, token in
            try await hsm.updateKey(token, id: key.id, update: requested)
        }
        runtime.remember(ref, .key(changed))
    }
}

@_cdecl("C_DestroyObject")
public func C_DestroyObject(_ hSession: CK_SESSION_HANDLE, _ hObject: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_DestroyObject") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        let (ref, snapshot) = try runtime.object(hObject, session: session)
        if case .key(let key) = snapshot, !key.persistent {
            // A session object: any session may destroy it (a read-only one too), and it is gone at once.
            try runtime.destroySessionObjects(slot: ref.slot, ids: [ref.id], strict: true)
            return
        }
        try runtime.requireReadWrite(session)
        // A key pair is one Redoubt key: destroying either object destroys both.
        try runtime.call(slot: ref.slot, context: .object) { hsm, token in
            if ref.kind == .certificate {
                try await hsm.deleteCertificate(token, id: ref.id)
            } else {
                _ = try await hsm.destroyKey(token, id: ref.id)
            }
        }
        runtime.forget(slot: ref.slot, id: ref.id)
    }
}

@_cdecl("C_GetObjectSize")
public func C_GetObjectSize(_ hSession: CK_SESSION_HANDLE, _ hObject: CK_OBJECT_HANDLE, _ pulSize: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
    entry("C_GetObjectSize") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pulSize else { throw .argumentsBad }
        _ = try runtime.object(hObject, session: session)
        pulSize.pointee = CK_ULONG.max
    }
}

@_cdecl("C_CopyObject")
public func C_CopyObject(
    _ hSession: CK_SESSION_HANDLE, _ hObject: CK_OBJECT_HANDLE, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulCount: CK_ULONG,
    _ phNewObject: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    notSupported("C_CopyObject", "keys are never copied (CKA_COPYABLE is false)")
}

@_cdecl("C_CreateObject")
public func C_CreateObject(
    _ hSession: CK_SESSION_HANDLE, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulCount: CK_ULONG,
    _ phObject: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_CreateObject") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let phObject else { throw .argumentsBad }
        let template = try Template(pTemplate, ulCount)
        try runtime.requireReadWrite(session)
        guard try template.ulong(CKA_CLASS) == CK_ULONG(CKO_CERTIFICATE) else {
            throw P11Error(
                CK_RV(CKR_TEMPLATE_INCONSISTENT),
                "only certificates (CKO_CERTIFICATE) can be created; keys are generated here, or imported through the ImportKey API")
        }
        try template.only([
            CKA_CLASS, CKA_CERTIFICATE_TYPE, CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE, CKA_LABEL, CKA_ID, CKA_VALUE, CKA_SUBJECT,
            CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY,
        ])
        if let type = try template.ulong(CKA_CERTIFICATE_TYPE), type != CK_ULONG(CKC_X_509) {
            throw P11Error(CK_RV(CKR_ATTRIBUTE_VALUE_INVALID), "only X.509 certificates are stored")
        }
        guard let der = template.bytes(CKA_VALUE), !der.isEmpty else { throw P11Error(CK_RV(CKR_TEMPLATE_INCOMPLETE), "CKA_VALUE holds the certificate") }
        var label = try template.string(CKA_LABEL) ?? ""
        if label.isEmpty { label = "pkcs11-cert-" + UUID().uuidString.prefix(8).lowercased() }
        let spec = CertificateSpec(label: label, certificateDER: der, applicationID: template.bytes(CKA_ID) ?? Data())
        let created = try runtime.call(slot: session.slot, context: .template) { hsm, token in
            try await hsm.createCertificate(token, spec: spec)
        }
        phObject.pointee = runtime.handle(for: ObjectRef(slot: session.slot, kind: .certificate, id: created.id), .certificate(created))
    }
}

@_cdecl("C_GenerateKeyPair")
public func C_GenerateKeyPair(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?,
    _ pPublicKeyTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulPublicKeyAttributeCount: CK_ULONG,
    _ pPrivateKeyTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ ulPrivateKeyAttributeCount: CK_ULONG,
    _ phPublicKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?, _ phPrivateKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_GenerateKeyPair") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let phPublicKey, let phPrivateKey else { throw .argumentsBad }
        let pub = try Template(pPublicKeyTemplate, ulPublicKeyAttributeCount)
        let priv = try Template(pPrivateKeyTemplate, ulPrivateKeyAttributeCount)
        let algorithm = try KeyTemplates.pairAlgorithm(pMechanism.pointee.mechanism, pub, priv)
        let spec = try KeyTemplates.spec(algorithm, templates: [pub, priv])
        if spec.persistent { try runtime.requireReadWrite(session) }
        let key = try runtime.call(slot: session.slot, context: .template) { hsm, token in
            try await hsm.generateKey(token, spec: spec)
        }
        if !spec.persistent { _ = try runtime.updateSession(hSession) { $0.objects.insert(key.id) } }
        phPublicKey.pointee = runtime.handle(for: ObjectRef(slot: session.slot, kind: .publicKey, id: key.id), .key(key))
        phPrivateKey.pointee = runtime.handle(for: ObjectRef(slot: session.slot, kind: .privateKey, id: key.id), .key(key))
    }
}

@_cdecl("C_GenerateKey")
public func C_GenerateKey(
    _ hSession: CK_SESSION_HANDLE, _ pMechanism: UnsafeMutablePointer<CK_MECHANISM>?, _ pTemplate: UnsafeMutablePointer<CK_ATTRIBUTE>?,
    _ ulCount: CK_ULONG, _ phKey: UnsafeMutablePointer<CK_OBJECT_HANDLE>?
) -> CK_RV {
    entry("C_GenerateKey") { () throws(P11Error) in
        let runtime = try Module.runtime()
        let session = try runtime.session(hSession)
        guard let pMechanism, let phKey else { throw .argumentsBad }
        let template = try Template(pTemplate, ulCount)
        let (algorithm, length) = try KeyTemplates.secretAlgorithm(pMechanism.pointee.mechanism, template)
        let spec = try KeyTemplates.spec(algorithm, secretLength: length, templates: [template])
        if spec.persistent { try runtime.requireReadWrite(session) }
        let key = try runtime.call(slot: session.slot, context: .template) { hsm, token in
            try await hsm.generateKey(token, spec: spec)
        }
        phKey.pointee = try runtime.newKey(hSession, slot: session.slot, key)
    }
}
