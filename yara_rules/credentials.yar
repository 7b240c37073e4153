/*
 * Private key material. The header alone is in every TLS library and key tool (as a format
 * string), so each rule needs the header followed by a real encoded body.
 *
 * Keys compiled into executables and libraries are nearly always self-test or sample keys
 * (libgnutls, in every Debian image, carries several), so inside a compiled file they are one
 * low finding, secret.private-key-in-binary, instead of a high one.
 */

private rule credentials_compiled_file
{
    condition:
        uint32(0) == 0x464c457f or                                   // ELF
        uint32(0) == 0x72613c21 or                                   // "!<ar" static library
        uint32(0) == 0xfeedfacf or uint32(0) == 0xcafebabe or         // Mach-O, fat / Java class
        uint16(0) == 0x5a4d and uint32(uint32(0x3c)) == 0x00004550   // PE
}

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
        not credentials_compiled_file and $a
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
        not credentials_compiled_file and any of them
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
        not credentials_compiled_file and $a
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
        not credentials_compiled_file and $a and $b
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
        not credentials_compiled_file and $a
}

rule secret_private_key_in_binary
{
    meta:
        id = "secret.private-key-in-binary"
        category = "secret"
        severity = "low"
        description = "Private key compiled into an executable or library (often a self-test key)"
    strings:
        $pem = /-----BEGIN (RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY-----\r?\n([A-Za-z0-9+\/=]{60,76}\r?\n){2}/ ascii wide
        $pgp = /-----BEGIN PGP PRIVATE KEY BLOCK-----\r?\n([A-Za-z0-9\-]+: [^\n]{0,200}\r?\n)*\r?\n[A-Za-z0-9+\/=]{60,}\r?\n/ ascii wide
    condition:
        credentials_compiled_file and any of them
}
