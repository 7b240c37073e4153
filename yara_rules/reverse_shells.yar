/*
 * Reverse shells in any language. Each rule needs the network half AND the shell half in a
 * form that only a connect-back one-liner or script has: bash's own binary and its manual
 * mention /dev/tcp, and the standard libraries use sockets, dup2 and /bin/sh separately.
 */

rule backdoor_revshell_bash_dev_tcp
{
    meta:
        id = "backdoor.revshell-bash-dev-tcp"
        category = "backdoor"
        severity = "critical"
        description = "Reverse shell through bash /dev/tcp (bash -i >& /dev/tcp/HOST/PORT)"
    strings:
        $a = /(ba|z|k)?sh\s+-i\s*[0-9]?\s*(>&|&>|>\s*&|<>)\s*\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{3,253}\/[0-9]{1,5}/ ascii wide
        $b = /exec\s+[0-9]{1,3}\s*<>\s*\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{3,253}\/[0-9]{1,5}/ ascii wide
        $c = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{3,253}\/[0-9]{1,5}\s*0?(>&|<&)\s*1/ ascii wide
        $d = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{3,253}\/[0-9]{1,5}[^\n]{0,40}(0>&1|<&1|1>&0)/ ascii wide
    condition:
        any of them
}

rule backdoor_revshell_netcat
{
    meta:
        id = "backdoor.revshell-netcat"
        category = "backdoor"
        severity = "critical"
        description = "Netcat running a shell for a remote peer (nc -e /bin/sh)"
    strings:
        $a = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s[^\n|;]{0,100}-[a-df-z]*[ec]\s*['"]?(\/usr)?\/bin\/(ba|z|k|da)?sh\b/ ascii wide
        $b = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s[^\n|;]{0,100}--(exec|sh-exec)[ =]['"]?((\/usr)?\/bin\/)?(ba|z|k|da)?sh\b/ ascii wide
    condition:
        any of them
}

rule backdoor_revshell_socat
{
    meta:
        id = "backdoor.revshell-socat"
        category = "backdoor"
        severity = "critical"
        description = "socat connecting a shell to the network (exec:/bin/sh with tcp)"
    strings:
        $a = /socat\s[^\n]{0,200}(exec|system):['"]?((\/usr)?\/bin\/)?(ba|z|k|da)?sh\b[^\n]{0,200}tcp[46]?(-connect|-listen|-l)?:/ ascii wide nocase
        $b = /socat\s[^\n]{0,200}tcp[46]?(-connect|-listen|-l)?:[^\n]{0,200}(exec|system):['"]?((\/usr)?\/bin\/)?(ba|z|k|da)?sh\b/ ascii wide nocase
    condition:
        any of them
}

rule backdoor_revshell_fifo
{
    meta:
        id = "backdoor.revshell-fifo"
        category = "backdoor"
        severity = "critical"
        description = "Named-pipe reverse shell (mkfifo/mknod pipe between a shell and nc/telnet/openssl)"
    strings:
        $a = /(mkfifo|mknod)\s+[^\n;&|]{1,100}[;&|\n][^\n]{0,200}(ba|z|k|da)?sh\b[^\n]{0,60}\|\s*(nc|ncat|netcat|telnet|openssl)\b/ ascii wide
        $b = /(mkfifo|mknod)\s+[^\n;&|]{1,100}[;&|\n][^\n]{0,200}\b(nc|ncat|netcat|telnet|openssl\s+s_client)\b[^\n]{0,100}\|\s*((\/usr)?\/bin\/)?(ba|z|k|da)?sh\b/ ascii wide
    condition:
        any of them
}

rule backdoor_revshell_python
{
    meta:
        id = "backdoor.revshell-python"
        category = "backdoor"
        severity = "critical"
        description = "Python reverse shell (socket connect + dup2 + shell)"
    strings:
        $sock = /socket\.socket\s*\(/ ascii
        $conn = /\.connect\s*\(\s*\(/ ascii
        $dup = /os\.dup2\s*\(\s*[A-Za-z_]+\.fileno\s*\(\s*\)\s*,\s*[0-2]\s*\)/ ascii
        $sh1 = /(subprocess\.(call|Popen|run)|os\.(system|exec[lv]p?e?)|pty\.spawn)\s*\(\s*\[?\s*['"](\/usr)?\/bin\/(ba|z|k|da)?sh['"]/ ascii
        $sh2 = /pty\.spawn\s*\(\s*['"](\/usr)?\/bin\/(ba|z|k|da)?sh/ ascii
        $sh3 = /['"](\/usr)?\/bin\/(ba|z|k|da)?sh['"]\s*,\s*['"]-i['"]/ ascii
    condition:
        filesize < 2MB and $sock and $conn and $dup and any of ($sh*)
}

rule backdoor_revshell_perl
{
    meta:
        id = "backdoor.revshell-perl"
        category = "backdoor"
        severity = "critical"
        description = "Perl reverse shell (socket connect + STDIN/STDOUT on the socket + exec shell)"
    strings:
        $sock1 = /socket\s*\(\s*[A-Z_$][A-Za-z_]*\s*,\s*PF_INET/ ascii
        $sock2 = /IO::Socket::INET->new\s*\(/ ascii
        $conn = /connect\s*\(\s*[A-Z_$][A-Za-z_]*\s*,\s*sockaddr_in/ ascii
        $redir = /open\s*\(\s*STD(IN|OUT|ERR)\s*,\s*['"][<>+]?&/ ascii
        $sh = /exec\s*[\(\{]?\s*['"]?\s*((\/usr)?\/bin\/)?(ba|z|k|da)?sh\b/ ascii
    condition:
        filesize < 2MB and any of ($sock*) and ($conn or $sock2) and $redir and $sh
}

rule backdoor_revshell_ruby
{
    meta:
        id = "backdoor.revshell-ruby"
        category = "backdoor"
        severity = "critical"
        description = "Ruby reverse shell (TCPSocket + shell on the socket's descriptor)"
    strings:
        $sock = /TCPSocket\.(new|open)\s*\(/ ascii
        $sh1 = /(exec|spawn|system)\s*\(?\s*sprintf\s*\(\s*['"](\/usr)?\/bin\/(ba|z|k|da)?sh[^'"]{0,10}<&%d/ ascii
        $sh2 = /\.to_i\s*;\s*exec\s*\(?\s*sprintf/ ascii
        $sh3 = /IO\.popen\s*\(\s*['"]?[^\n]{0,40}(ba|z|k|da)?sh\b[^\n]{0,200}\.(read|gets)[^\n]{0,100}\.(print|puts|write)/ ascii
        $sh4 = /(\$stdin|\$stdout|STDIN|STDOUT)\.reopen\s*\(\s*[a-z_]+\s*\)[^\n]{0,200}exec\s*\(?\s*['"]((\/usr)?\/bin\/)?(ba|z|k|da)?sh/ ascii
    condition:
        filesize < 2MB and $sock and any of ($sh*)
}

rule backdoor_revshell_php
{
    meta:
        id = "backdoor.revshell-php"
        category = "backdoor"
        severity = "critical"
        description = "PHP reverse shell (fsockopen + shell on the socket)"
    strings:
        $sock = /(fsockopen|stream_socket_client|socket_connect)\s*\(/ ascii nocase
        $sh1 = /(exec|shell_exec|system|passthru|popen|proc_open)\s*\(\s*['"](\/usr)?\/bin\/(ba|z|k|da)?sh[^'"]{0,10}<&[0-9]/ ascii nocase
        $sh2 = /proc_open\s*\(\s*['"]((\/usr)?\/bin\/)?(ba|z|k|da)?sh( -i)?['"]\s*,\s*array\s*\(\s*0\s*=>\s*\$[a-z_]+/ ascii nocase
        $sh3 = /proc_open\s*\(\s*['"]((\/usr)?\/bin\/)?(ba|z|k|da)?sh( -i)?['"]\s*,\s*\[\s*0\s*=>\s*\$[a-z_]+/ ascii nocase
    condition:
        filesize < 2MB and $sock and any of ($sh*)
}
