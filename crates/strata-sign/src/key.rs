//! Keys as cosign keeps them: an ECDSA P-256 key pair, the private key as PKCS#8 DER sealed
//! with `NaCl`'s secretbox under a key scrypt derives from a password, in a PEM block
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`; cosign before 2.0 wrote `ENCRYPTED COSIGN PRIVATE KEY`)
//! whose body is JSON:
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<32 bytes, base64>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<24 bytes, base64>"},
//!  "ciphertext":"<tag and sealed PKCS#8, base64>"}
//! ```
//!
//! The public key is a `PUBLIC KEY` PEM (`SubjectPublicKeyInfo`). Unencrypted PKCS#8
//! (`PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys, as other sigstore tools write them, are
//! read too.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::error::KeyError;

/// The PEM label strata writes, and the older one cosign wrote.
pub const ENCRYPTED_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// The scrypt parameters strata writes (cosign's: go-securesystemslib's "legacy" strength).
const WRITE_LOG_N: u8 = 15;
/// The parameter sets a key may use (go-securesystemslib's legacy, standard and OWASP): a key
/// file cannot make strata spend unbounded memory or time deriving its key.
const ACCEPTED: [(u64, u32, u32); 3] = [(1 << 15, 8, 1), (1 << 16, 8, 1), (1 << 17, 8, 1)];

#[derive(Serialize, Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// A new key pair.
pub fn generate() -> SigningKey {
    SigningKey::random(&mut OsRng)
}

/// The private key as cosign writes it, sealed with `password`.
pub fn encrypt_private_key(key: &SigningKey, password: &[u8]) -> Result<String, KeyError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|error| KeyError::Encode(error.to_string()))?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let secret = derive(password, &salt, WRITE_LOG_N, 8, 1)?;
    let cipher = XSalsa20Poly1305::new_from_slice(secret.as_slice())
        .map_err(|error| KeyError::Encode(error.to_string()))?;
    let ciphertext = cipher
        .encrypt(&nonce.into(), der.as_bytes())
        .map_err(|error| KeyError::Encode(error.to_string()))?;
    let sealed = Sealed {
        kdf: Kdf {
            name: "scrypt".to_string(),
            params: KdfParams {
                n: 1 << WRITE_LOG_N,
                r: 8,
                p: 1,
            },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".to_string(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    let json = serde_json::to_vec(&sealed).map_err(|error| KeyError::Encode(error.to_string()))?;
    Ok(pem_block(ENCRYPTED_LABEL, &json))
}

/// The private key in `text` (a PEM file's content), opened with `password` when sealed.
pub fn read_private_key(text: &str, password: &[u8]) -> Result<SigningKey, KeyError> {
    let (label, body) = pem_body(text)?;
    match label.as_str() {
        ENCRYPTED_LABEL | COSIGN_LABEL => {
            let sealed: Sealed = serde_json::from_slice(&body)
                .map_err(|error| KeyError::Malformed(format!("its JSON: {error}")))?;
            open(&sealed, password)
        }
        "PRIVATE KEY" => SigningKey::from_pkcs8_der(&body)
            .map_err(|error| KeyError::Malformed(format!("PKCS#8: {error}"))),
        "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&body)
            .map(SigningKey::from)
            .map_err(|error| KeyError::Malformed(format!("SEC1: {error}"))),
        other => Err(KeyError::NotPrivate(other.to_string())),
    }
}

/// Whether a private key file needs a password.
pub fn is_encrypted(text: &str) -> bool {
    text.contains(&format!("-----BEGIN {ENCRYPTED_LABEL}-----"))
        || text.contains(&format!("-----BEGIN {COSIGN_LABEL}-----"))
}

/// The public key as a `PUBLIC KEY` PEM.
pub fn public_key_pem(key: &VerifyingKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|error| KeyError::Encode(error.to_string()))
}

/// The public key in `text` (a `PUBLIC KEY` PEM file's content).
pub fn read_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let (label, body) = pem_body(text)?;
    if label != "PUBLIC KEY" {
        return Err(KeyError::NotPublic(label));
    }
    VerifyingKey::from_public_key_der(&body)
        .map_err(|error| KeyError::Malformed(format!("the public key: {error}")))
}

/// A key's fingerprint: `sha256:` over its `SubjectPublicKeyInfo` DER (what `strata verify` and
/// `inspect` show as who signed).
pub fn fingerprint(key: &VerifyingKey) -> String {
    let der = key
        .to_public_key_der()
        .map(|der| der.as_bytes().to_vec())
        .unwrap_or_default();
    format!("sha256:{:x}", sha2::Sha256::digest(der))
}

fn open(sealed: &Sealed, password: &[u8]) -> Result<SigningKey, KeyError> {
    if sealed.kdf.name != "scrypt" || sealed.cipher.name != "nacl/secretbox" {
        return Err(KeyError::Malformed(format!(
            "it is sealed with {} and {}, not scrypt and nacl/secretbox",
            sealed.kdf.name, sealed.cipher.name
        )));
    }
    let params = &sealed.kdf.params;
    if !ACCEPTED.contains(&(params.n, params.r, params.p)) {
        return Err(KeyError::Malformed(format!(
            "unsupported scrypt parameters N={} r={} p={}",
            params.n, params.r, params.p
        )));
    }
    let decode = |field: &str, text: &str| {
        STANDARD
            .decode(text)
            .map_err(|error| KeyError::Malformed(format!("its {field}: {error}")))
    };
    let salt = decode("salt", &sealed.kdf.salt)?;
    let nonce = decode("nonce", &sealed.cipher.nonce)?;
    let ciphertext = decode("ciphertext", &sealed.ciphertext)?;
    if nonce.len() != 24 {
        return Err(KeyError::Malformed(format!(
            "its nonce is {} bytes, not 24",
            nonce.len()
        )));
    }
    // N is one of the accepted powers of two.
    let log_n = u8::try_from(params.n.trailing_zeros()).unwrap_or(u8::MAX);
    let secret = derive(password, &salt, log_n, params.r, params.p)?;
    let cipher = XSalsa20Poly1305::new_from_slice(secret.as_slice())
        .map_err(|error| KeyError::Malformed(error.to_string()))?;
    let nonce: [u8; 24] = nonce.try_into().unwrap_or([0; 24]);
    let der = Zeroizing::new(
        cipher
            .decrypt(&nonce.into(), ciphertext.as_slice())
            .map_err(|_| KeyError::WrongPassword)?,
    );
    SigningKey::from_pkcs8_der(&der)
        .map_err(|error| KeyError::Malformed(format!("the sealed PKCS#8: {error}")))
}

fn derive(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|error| KeyError::Malformed(format!("scrypt parameters: {error}")))?;
    let mut secret = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, &params, secret.as_mut())
        .map_err(|error| KeyError::Malformed(format!("scrypt: {error}")))?;
    Ok(secret)
}

/// The label and decoded body of the first PEM block in `text`.
fn pem_body(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let begin = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or(KeyError::NotPem)?;
    let label = rest[..label_end].to_string();
    let body_start = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body_start.find(&end_marker).ok_or(KeyError::NotPem)?;
    let encoded: String = body_start[..body_end]
        .lines()
        .map(str::trim)
        // Headers (`Proc-Type: …`) are not base64.
        .filter(|line| !line.contains(':'))
        .collect();
    let body = STANDARD
        .decode(encoded)
        .map_err(|error| KeyError::Malformed(format!("its base64: {error}")))?;
    Ok((label, body))
}

fn pem_block(label: &str, body: &[u8]) -> String {
    let encoded = STANDARD.encode(body);
    let mut text = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        text.push('\n');
    }
    text + &format!("-----END {label}-----\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-securesystemslib's own vectors (`encrypted/encrypted_test.go`), sealed by the Go
    /// implementation cosign uses, under "supersecret", at each strength. They were made with
    /// its `Marshal`, which seals the JSON of its input: "reallyimportant" as a JSON string of
    /// base64 (cosign seals the key's DER itself, with `Encrypt`).
    const GO_VECTORS: [&str; 3] = [
        r#"{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"WO3mVvyTwJ9vwT5/Tk5OW5WPIBUofMjcpEfrLnfY4uA="},"cipher":{"name":"nacl/secretbox","nonce":"tCy7HcTFr4uxv4Nrg/DWmncuZ148U1MX"},"ciphertext":"08n43p5G5yviPEZpO7tPPF4aZQkWiWjkv4taFdhDBA0tamKH4nw="}"#,
        r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/ynG5+yRiFlNs="},"cipher":{"name":"nacl/secretbox","nonce":"aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE"},"ciphertext":"HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8="}"#,
        r#"{"kdf":{"name":"scrypt","params":{"N":131072,"r":8,"p":1},"salt":"m38E3kouJTtiheLQN22NQ8DTito5hrjpUIskqcd375k="},"cipher":{"name":"nacl/secretbox","nonce":"Y6PM13yA+o44pE/W1ZBwczeGnTV/m9Zc"},"ciphertext":"6H8sqj1K6B6yDjtH5AQ6lbFigg/C2yDDJc4rYJ79w9aVPImFIPI="}"#,
    ];

    fn unseal(json: &str, password: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sealed: Sealed = serde_json::from_str(json).unwrap();
        let params = &sealed.kdf.params;
        let salt = STANDARD.decode(&sealed.kdf.salt).unwrap();
        let nonce: [u8; 24] = STANDARD
            .decode(&sealed.cipher.nonce)
            .unwrap()
            .try_into()
            .unwrap();
        let log_n = u8::try_from(params.n.trailing_zeros()).unwrap();
        let secret = derive(password, &salt, log_n, params.r, params.p)?;
        let cipher = XSalsa20Poly1305::new_from_slice(secret.as_slice()).unwrap();
        cipher
            .decrypt(
                &nonce.into(),
                STANDARD.decode(&sealed.ciphertext).unwrap().as_slice(),
            )
            .map_err(|_| KeyError::WrongPassword)
    }

    #[test]
    fn what_the_go_implementation_sealed_opens_here() {
        for vector in GO_VECTORS {
            let opened = unseal(vector, b"supersecret").unwrap();
            let text: String = serde_json::from_slice(&opened).unwrap();
            assert_eq!(
                STANDARD.decode(text).unwrap(),
                b"reallyimportant",
                "{vector}"
            );
            assert!(matches!(
                unseal(vector, b"supersecreT"),
                Err(KeyError::WrongPassword)
            ));
        }
    }

    #[test]
    fn a_written_key_reads_back_with_its_password_only() {
        let key = generate();
        let text = encrypt_private_key(&key, b"hunter2").unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(is_encrypted(&text));
        let read = read_private_key(&text, b"hunter2").unwrap();
        assert_eq!(read.to_bytes(), key.to_bytes());
        assert!(matches!(
            read_private_key(&text, b"hunter3"),
            Err(KeyError::WrongPassword)
        ));
        let public = public_key_pem(key.verifying_key()).unwrap();
        assert_eq!(&read_public_key(&public).unwrap(), key.verifying_key());
        assert!(fingerprint(key.verifying_key()).starts_with("sha256:"));
    }

    #[test]
    fn damaged_keys_are_errors_that_say_what_is_wrong() {
        let key = generate();
        let text = encrypt_private_key(&key, b"pw").unwrap();
        // Truncated: no END line.
        let truncated = &text[..text.len() / 2];
        assert!(matches!(
            read_private_key(truncated, b"pw"),
            Err(KeyError::NotPem)
        ));
        // Parameters that would cost unbounded memory are refused before deriving.
        let body = text
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect::<String>();
        let json = String::from_utf8(STANDARD.decode(body).unwrap()).unwrap();
        let greedy = json.replace("\"N\":32768", "\"N\":1073741824");
        let error =
            read_private_key(&pem_block(ENCRYPTED_LABEL, greedy.as_bytes()), b"pw").unwrap_err();
        assert!(
            error.to_string().contains("unsupported scrypt parameters"),
            "{error}"
        );
        let public = public_key_pem(key.verifying_key()).unwrap();
        assert!(matches!(
            read_private_key(&public, b"pw"),
            Err(KeyError::NotPrivate(_))
        ));
        assert!(matches!(
            read_public_key(&text),
            Err(KeyError::NotPublic(_))
        ));
    }
}
