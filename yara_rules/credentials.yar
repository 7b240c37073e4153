/*
 * Credential material that is not a token: dumps of password hashes. Private keys, tokens and
 * credential files (~/.aws/credentials, .netrc, .docker/config.json, …) are the secret rules'
 * (explorer/detectors/secret_rules.py), which mask them and know test and documentation paths;
 * they are not repeated here, so that one key gives one finding.
 */

rule secret_password_hash_dump
{
    meta:
        id = "secret.password-hash-dump"
        category = "secret"
        severity = "medium"
        description = "Password hashes in shadow format (crypt $1$/$5$/$6$/$y$/$2b$): crackable offline"
    strings:
        $h = /(^|\n)[a-z_][a-z0-9_.-]{0,31}:\$(1|5|6|y|gy|7|2[aby])\$[.\/A-Za-z0-9$]{8,}:/
    condition:
        filesize < 4MB and #h >= 1 and not uint32be(0) == 0x7f454c46
}
