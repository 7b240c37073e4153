/*
 * Persistence written by scripts: keys appended to authorized_keys, libraries put into
 * /etc/ld.so.preload, cron lines that fetch and run code. Path-based checks (a new cron file,
 * a changed authorized_keys) belong to the layer heuristics; these rules see the script that
 * does it, wherever it hides.
 */

rule backdoor_ssh_key_injection
{
    meta:
        id = "backdoor.ssh-key-injection"
        category = "backdoor"
        severity = "high"
        description = "Script appends an SSH public key to an authorized_keys file"
    strings:
        $a = /(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp[0-9]{3}) AAAA[A-Za-z0-9+\/]{40,}={0,2}[^\n]{0,200}>>\s*['"]?[^\s'"]{0,80}authorized_keys/ ascii
        $b = /authorized_keys[^\n]{0,40}<<[^\n]{0,40}\n[^\n]{0,40}(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp[0-9]{3}) AAAA/ ascii
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and any of them
}

rule backdoor_preload_writer
{
    meta:
        id = "backdoor.preload-writer"
        category = "backdoor"
        severity = "high"
        description = "Script registers a library in /etc/ld.so.preload"
    strings:
        $a = /(echo|printf|cat)\s[^\n]{0,200}>>?\s*['"]?\/etc\/ld\.so\.preload/ ascii
        $b = /tee\s+(-a\s+)?['"]?\/etc\/ld\.so\.preload/ ascii
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and any of them
}

rule backdoor_cron_download_exec
{
    meta:
        id = "backdoor.cron-download-exec"
        category = "backdoor"
        severity = "high"
        description = "Cron line that downloads code and pipes it into a shell"
    strings:
        $a = /(\*|@reboot|@hourly|[0-9*\/,\-]+\s+[0-9*\/,\-]+\s+[0-9*\/,\-]+\s+[0-9*\/,\-]+\s+[0-9*\/,\-]+)\s+[^\n]{0,60}\b(curl|wget)\s[^\n]{0,200}\|\s*(sudo\s+)?((\/usr)?\/bin\/)?(ba|z|k|da)?sh\b/ ascii
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and $a
}

rule backdoor_cloud_credential_theft
{
    meta:
        id = "backdoor.cloud-credential-theft"
        category = "backdoor"
        severity = "critical"
        description = "Script harvests cloud credentials (instance metadata, ~/.aws) and sends them out (TeamTNT style)"
    strings:
        $imds1 = "169.254.169.254/latest/meta-data/iam/security-credentials" ascii
        $imds2 = "metadata.google.internal/computeMetadata/v1/instance/service-accounts" ascii
        $imds3 = "169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" ascii
        $file1 = /cat\s+[^\n]{0,40}\.aws\/credentials/ ascii
        $file2 = /cat\s+[^\n]{0,40}\.docker\/config\.json/ ascii
        $file3 = /(env|printenv|set)\s*\|\s*grep\s+[^\n]{0,40}(AWS|KEY|SECRET)/ ascii
        $send1 = /curl\s[^\n]{0,200}(-F\s|--form\s|--upload-file\s|-T\s|--data(-binary)?\s+@|-d\s+@)/ ascii
        $send2 = /wget\s[^\n]{0,200}--post-(file|data)/ ascii
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and
        any of ($imds*) and any of ($file*) and any of ($send*)
}
