/*
 * Crypto miners: XMRig and relatives, their configs, and the scripts that drop them.
 *
 * Precision: single words such as "cryptonight" or "xmrig" appear in documentation, crypto
 * libraries and package lists, so every high/critical rule needs several independent signals.
 */

rule miner_xmrig_strings
{
    meta:
        id = "miner.xmrig-strings"
        category = "miner"
        severity = "critical"
        description = "XMRig-family miner: several of its option, banner or algorithm strings"
    strings:
        $opt1 = "--donate-level" ascii wide
        $opt2 = "--randomx-1gb-pages" ascii wide
        $opt3 = "--randomx-mode" ascii wide
        $opt4 = "--cpu-priority" ascii wide
        $opt5 = "--cpu-max-threads-hint" ascii wide
        $opt6 = "--nicehash" ascii wide
        $opt7 = "--rig-id" ascii wide
        $opt8 = "--huge-pages-jit" ascii wide
        $opt9 = "--max-cpu-usage" ascii wide
        $banner1 = "XMRig/" ascii wide
        $banner2 = "xmrig.com" ascii wide nocase
        $banner3 = "donate.v2.xmrig.com" ascii wide
        $banner4 = "XMRIG_VERSION" ascii
        $banner5 = "cpuminer-multi" ascii
        $banner6 = "xmr-stak" ascii wide nocase
        $algo1 = "rx/0" ascii wide fullword
        $algo2 = "cryptonight" ascii wide nocase
        $algo3 = "cn/r" ascii wide fullword
        $algo4 = "rx/wow" ascii wide fullword
        $algo5 = "argon2/chukwa" ascii wide
        $algo6 = "randomx" ascii wide nocase fullword
        $proto1 = "stratum+tcp://" ascii wide
        $proto2 = "stratum+ssl://" ascii wide
        $proto3 = "\"method\":\"login\"" ascii
        $proto4 = "\"method\":\"keepalived\"" ascii
    condition:
        filesize < 64MB and
        (
            (2 of ($opt*) and 1 of ($algo*, $banner*, $proto*)) or
            (1 of ($banner*) and 2 of ($algo*, $proto*)) or
            (2 of ($algo*) and 2 of ($proto*))
        )
}

rule miner_stratum_url
{
    meta:
        id = "miner.stratum-url"
        category = "miner"
        severity = "high"
        description = "Mining pool URL (stratum+tcp/ssl/tls) with a host"
    strings:
        $url = /stratum\+(tcp|ssl|tls|tcps):\/\/[A-Za-z0-9][A-Za-z0-9.\-]{2,253}(:[0-9]{2,5})?/ ascii wide
    condition:
        $url
}

rule miner_pool_host
{
    meta:
        id = "miner.pool-host"
        category = "miner"
        severity = "high"
        description = "Known Monero/crypto mining pool host name"
    strings:
        $p1 = "pool.supportxmr.com" ascii wide nocase
        $p2 = "pool.minexmr.com" ascii wide nocase
        $p3 = "xmrpool.eu" ascii wide nocase
        $p4 = "moneroocean.stream" ascii wide nocase
        $p5 = ".nanopool.org" ascii wide nocase
        $p6 = "pool.hashvault.pro" ascii wide nocase
        $p7 = "c3pool.com" ascii wide nocase
        $p8 = ".2miners.com" ascii wide nocase
        $p9 = ".f2pool.com" ascii wide nocase
        $p10 = ".herominers.com" ascii wide nocase
        $p11 = "minergate.com" ascii wide nocase
        $p12 = "monerohash.com" ascii wide nocase
        $p13 = "xmr.crypto-pool.fr" ascii wide nocase
        $p14 = "pool.xmr.pt" ascii wide nocase
        $p15 = "unmineable.com" ascii wide nocase
        $p16 = "dwarfpool.com" ascii wide nocase
        $p17 = "xmrig.nanswap.com" ascii wide nocase
        $p18 = "gulf.moneroocean.stream" ascii wide nocase
        $p19 = "mine.c3pool.com" ascii wide nocase
        $p20 = "xmr.pool.gntl.co.uk" ascii wide nocase
        $p21 = "monero.herominers.com" ascii wide nocase
        $p22 = "pool.kryptex.com" ascii wide nocase
        $p23 = "auto.c3pool.org" ascii wide nocase
        $p24 = "xmr-eu1.nanopool.org" ascii wide nocase
        $p25 = "rx.unmineable.com" ascii wide nocase
        $p26 = "donate.v2.xmrig.com" ascii wide nocase
    condition:
        any of them
}

/*
 * A bare 95-character base58 pattern has no literal for YARA to anchor on and slows scanning
 * of every binary ~20x, so the address is only looked for where miners put it: after a
 * wallet/user/login key or option, or alone on a line. The check after the match keeps out
 * windows of longer base58/base64 runs (keys, hashes, blobs).
 */
rule miner_monero_wallet
{
    meta:
        id = "miner.monero-wallet"
        category = "miner"
        severity = "medium"
        description = "Monero wallet address (95 base58 characters starting with 4 or 8)"
    strings:
        // Primary (4) and sub-addresses (8): the network byte makes the 2nd char 1-9, A or B.
        $key = /(wallet|user|login|address|addr|xmr|payout|-u)["']?\s{0,4}[:=]?\s{0,4}["']?[48][1-9AB][1-9A-HJ-NP-Za-km-z]{93}/ ascii nocase
        // the line's start spelled out: with an optional quote, YARA anchored on the newline alone
        $line = /(\n4|\n8|\n"4|\n"8|\n'4|\n'8)[1-9AB][1-9A-HJ-NP-Za-km-z]{93}["']?\r?\n/ ascii
    condition:
        for any i in (1..#key) : (
            @key[i] + !key[i] >= filesize or not (
                uint8(@key[i] + !key[i]) >= 0x30 and uint8(@key[i] + !key[i]) <= 0x39 or
                uint8(@key[i] + !key[i]) >= 0x41 and uint8(@key[i] + !key[i]) <= 0x5a or
                uint8(@key[i] + !key[i]) >= 0x61 and uint8(@key[i] + !key[i]) <= 0x7a or
                uint8(@key[i] + !key[i]) == 0x2b or uint8(@key[i] + !key[i]) == 0x2f or
                uint8(@key[i] + !key[i]) == 0x3d or uint8(@key[i] + !key[i]) == 0x5f or
                uint8(@key[i] + !key[i]) == 0x2d)) or
        $line
}

rule miner_wallet_with_pool
{
    meta:
        id = "miner.wallet-with-pool"
        category = "miner"
        severity = "critical"
        description = "Monero wallet address next to a pool URL or miner option (mining configuration)"
    strings:
        $c1 = "stratum+" ascii wide
        $c2 = "--donate-level" ascii wide
        $c3 = "donate-level" ascii wide
        $c4 = "\"pools\"" ascii wide
        $c5 = /(-o|--url)[ =][A-Za-z0-9.\-]+:[0-9]{2,5}/ ascii wide
        $c6 = /(-u|--user)[ =]["']?[48][0-9AB]/ ascii wide
        $c7 = "xmrig" ascii wide nocase
    condition:
        filesize < 16MB and miner_monero_wallet and any of ($c*)
}

rule miner_xmrig_config
{
    meta:
        id = "miner.xmrig-config"
        category = "miner"
        severity = "high"
        description = "XMRig-style JSON configuration (pools, algo, donate-level)"
    strings:
        $pools = /"pools"\s*:\s*\[/ ascii wide
        $donate = /"donate-level"\s*:\s*[0-9]/ ascii wide
        $donate2 = /"donate-over-proxy"\s*:/ ascii wide
        $algo = /"algo"\s*:\s*("|null)/ ascii wide
        $coin = /"coin"\s*:\s*("|null)/ ascii wide
        $rx = /"randomx"\s*:\s*\{/ ascii wide
        $url = /"url"\s*:\s*"[^"]{3,200}:[0-9]{2,5}"/ ascii wide
        $user = /"user"\s*:\s*"/ ascii wide
        $cpu = /"cpu"\s*:\s*\{/ ascii wide
    condition:
        filesize < 1MB and $pools and $url and
        (
            ($donate or $donate2) and ($algo or $coin or $rx or $cpu) or
            ($algo or $coin) and $user and ($rx or $cpu)
        )
}

rule miner_dropper_script
{
    meta:
        id = "miner.dropper-script"
        category = "miner"
        severity = "critical"
        description = "Script that downloads and starts a miner"
    strings:
        $fetch1 = /(curl|wget)\s[^\n]{0,300}https?:\/\// ascii
        $fetch2 = /(curl|wget)\s+(-[a-zA-Z]+\s+)*[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/ ascii
        $fetch3 = "/dev/tcp/" ascii
        $fetch4 = /\b(curl|wget)\b[^\n]{0,200}(\$[A-Za-z_]+|\$\{[A-Za-z_]+\})\/[A-Za-z0-9._\/\-]+/ ascii
        $run1 = /chmod\s+(\+x|[0-7]?7[0-7][0-7])\s/ ascii
        $run2 = /nohup\s/ ascii
        $run3 = "setsid " ascii
        $run4 = /screen\s+-dm/ ascii
        $run5 = /&\s*disown/ ascii
        $run6 = /\/dev\/null\s+2>&1\s*&/ ascii
        $m1 = "xmrig" ascii nocase
        $m2 = "kdevtmpfsi" ascii
        $m3 = "kinsing" ascii
        $m4 = "stratum+" ascii
        $m5 = "--donate-level" ascii
        $m6 = "minerd" ascii fullword
        $m7 = "xmr-stak" ascii nocase
        $m8 = "kworkerds" ascii
        $m9 = "xmrigMiner" ascii
        $m10 = "moneroocean" ascii nocase
        $m11 = "supportxmr" ascii nocase
        $m12 = "c3pool" ascii nocase
        $m13 = "cryptonight" ascii nocase
        $m14 = "nanopool" ascii nocase
        $m15 = "hashvault" ascii nocase
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and
        any of ($fetch*) and any of ($run*) and 1 of ($m*)
}

rule miner_competitor_killer
{
    meta:
        id = "miner.competitor-killer"
        category = "miner"
        severity = "high"
        description = "Script that kills competing miners (kinsing/kdevtmpfsi style)"
    strings:
        $k1 = /(pkill|killall)\s+(-9\s+|-f\s+|-KILL\s+)*[^\n]{0,40}(xmrig|kdevtmpfsi|kinsing|minerd|cryptonight|xmr-stak|kworkerds|sysupdate|networkservice|dbused|xmrigMiner|ddgs|bioset)/ ascii
        $k2 = /ps\s+(aux|-ef|ax)[^\n]{0,80}grep[^\n]{0,80}(xmrig|kdevtmpfsi|kinsing|minerd|cryptonight|xmr-stak|kworkerds|stratum|sysupdate|dbused|xmrigMiner|ddgs)[^\n]{0,200}(kill\s+-9|xargs\s+(-I\s*%\s+)?kill)/ ascii
        $k3 = /netstat\s+-[a-z]+[^\n]{0,80}grep[^\n]{0,40}:(3333|4444|5555|7777|14444|14433|5556|9999)[^\n]{0,200}kill/ ascii
        $n1 = "kdevtmpfsi" ascii
        $n2 = "kinsing" ascii
        $n3 = "xmrig" ascii nocase
        $n4 = "minerd" ascii
        $n5 = "cryptonight" ascii
        $n6 = "kworkerds" ascii
        $n7 = "stratum" ascii
        $n8 = "xmr-stak" ascii
        $n9 = "sysupdate" ascii
        $n10 = "dbused" ascii
        $n11 = "ddgs" ascii fullword
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and
        (#k1 + #k2 + #k3) >= 2 and 2 of ($n*)
}

rule miner_keepalive
{
    meta:
        id = "miner.keepalive"
        category = "miner"
        severity = "high"
        description = "Watchdog that restarts a miner when it is not running"
    strings:
        $check = /(pgrep|pidof|ps\s+(aux|-ef|ax)[^\n]{0,60}grep)\s[^\n]{0,60}(xmrig|kdevtmpfsi|kinsing|minerd|xmr-stak|kworkerds|xmrigMiner|cpuminer)/ ascii
        $loop1 = /while\s+(true|:|\[\s*1\s*\])/ ascii
        $loop2 = "crontab " ascii
        $loop3 = "/etc/cron" ascii
        $loop4 = "* * * * *" ascii
        $loop5 = /systemctl\s+(enable|start)/ ascii
        $loop6 = "[Service]" ascii
        $start = /(nohup\s|\.\/[A-Za-z0-9._\-]+|\/tmp\/[A-Za-z0-9._\-]+|\/dev\/shm\/[A-Za-z0-9._\-]+|\/var\/tmp\/[A-Za-z0-9._\-]+)[^\n]{0,120}(&|>\s*\/dev\/null)/ ascii
    condition:
        filesize < 2MB and uint32(0) != 0x464c457f and
        $check and any of ($loop*) and $start
}
