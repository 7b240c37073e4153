/*
 * Private key material. The header alone is in every TLS library and key tool (as a format
 * string), so each rule needs the header followed by a real encoded body.
 */

rule secret_private_key_pem
{
    meta:
        id = "secret.private-key-pem"
        category = "secret"
        severity = "high"
        description = "Private key (PEM: RSA, EC, DSA or PKCS#8)"
    strings:
        $a = /-----BEGIN (RSA |EC |DSA )?PRIVATE KEY-----\r?\n([A-Za-z0-9+\/=]{60,76}\r?\n){3}/ ascii wide
    condition:
        $a
}

rule secret_private_key_pem_encrypted
{
    meta:
        id = "secret.private-key-encrypted"
        category = "secret"
        severity = "medium"
        description = "Passphrase-protected private key (PEM/PKCS#8 encrypted)"
    strings:
        $a = /-----BEGIN ENCRYPTED PRIVATE KEY-----\r?\n([A-Za-z0-9+\/=]{60,76}\r?\n){3}/ ascii wide
        $b = /-----BEGIN (RSA |EC |DSA )PRIVATE KEY-----\r?\nProc-Type: 4,ENCRYPTED\r?\nDEK-Info: [A-Z0-9\-]{5,40},[0-9A-Fa-f]{16,64}\r?\n\r?\n([A-Za-z0-9+\/=]{60,76}\r?\n){3}/ ascii wide
    condition:
        any of them
}

rule secret_private_key_openssh
{
    meta:
        id = "secret.private-key-openssh"
        category = "secret"
        severity = "high"
        description = "OpenSSH private key"
    strings:
        // base64 of "openssh-key-v1\0" opens every body.
        $a = /-----BEGIN OPENSSH PRIVATE KEY-----\r?\nb3BlbnNzaC1rZXktdjE[A-Za-z0-9+\/=]{40,}\r?\n[A-Za-z0-9+\/=]{40,}/ ascii wide
    condition:
        $a
}

rule secret_private_key_putty
{
    meta:
        id = "secret.private-key-putty"
        category = "secret"
        severity = "high"
        description = "PuTTY private key (.ppk)"
    strings:
        $a = /PuTTY-User-Key-File-[23]: (ssh-rsa|ssh-dss|ssh-ed25519|ssh-ed448|ecdsa-sha2-nistp[0-9]{3})\r?\nEncryption: [a-z0-9\-]{4,20}\r?\n/ ascii wide
        $b = /Private-Lines: [0-9]{1,3}\r?\n[A-Za-z0-9+\/=]{40,}/ ascii wide
    condition:
        $a and $b
}

rule secret_pgp_private_key
{
    meta:
        id = "secret.pgp-private-key"
        category = "secret"
        severity = "high"
        description = "PGP/GPG private key block"
    strings:
        $a = /-----BEGIN PGP PRIVATE KEY BLOCK-----\r?\n([A-Za-z0-9\-]+: [^\n]{0,200}\r?\n)*\r?\n[A-Za-z0-9+\/=]{60,}\r?\n[A-Za-z0-9+\/=]{60,}/ ascii wide
    condition:
        $a
}
