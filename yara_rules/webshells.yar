/*
 * Webshells: server-side code that runs what the HTTP request says. Every rule needs the
 * dangerous sink and the request input together (or an eval of a decoded blob).
 * Strings named $ctx_* only say what kind of file this is; the detector quotes them as evidence
 * only when nothing else matched.
 */

rule backdoor_webshell_php_request_exec
{
    meta:
        id = "backdoor.webshell-php"
        category = "backdoor"
        severity = "critical"
        description = "PHP webshell: eval/assert/system on request input"
    strings:
        $ctx_php = "<?" ascii
        $a = /\b(eval|assert|system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|create_function|call_user_func)\s*\(\s*[^;]{0,80}\$_(GET|POST|REQUEST|COOKIE|SERVER\s*\[\s*['"]HTTP_)/ ascii nocase
        $b = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ ascii
        $c = /\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ ascii
        $d = /preg_replace\s*\(\s*['"][\/#~@!|][^'"]{0,80}[\/#~@!|][a-z]*e[a-z]*['"]\s*,\s*[^;]{0,80}\$_(GET|POST|REQUEST|COOKIE)/ ascii
    condition:
        filesize < 4MB and $ctx_php and any of ($a, $b, $c, $d)
}

rule backdoor_webshell_php_obfuscated
{
    meta:
        id = "backdoor.webshell-php-obfuscated"
        category = "backdoor"
        severity = "high"
        description = "PHP code that evals a base64/gzip/rot13-decoded blob"
    strings:
        $ctx_php = "<?" ascii
        $a = /\b(eval|assert)\s*\(\s*(@\s*)?(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|convert_uudecode)\s*\(/ ascii nocase
        $b = /\b(eval|assert)\s*\(\s*(@\s*)?\$[A-Za-z_0-9]+\s*\(\s*\$[A-Za-z_0-9]+\s*\(/ ascii
        $c = /(base64_decode|gzinflate|gzuncompress|str_rot13)\s*\(\s*['"][A-Za-z0-9+\/=]{200,}/ ascii
    condition:
        filesize < 4MB and $ctx_php and ($a or ($b and $c))
}

rule backdoor_webshell_jsp
{
    meta:
        id = "backdoor.webshell-jsp"
        category = "backdoor"
        severity = "critical"
        description = "JSP webshell: Runtime.exec/ProcessBuilder on a request parameter"
    strings:
        $ctx_jsp = "<%" ascii
        $exec1 = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/ ascii
        $exec2 = /new\s+ProcessBuilder\s*\(/ ascii
        $req = /request\s*\.\s*(getParameter|getHeader|getInputStream|getReader)\s*\(/ ascii
        $direct = /\.exec\s*\(\s*request\s*\.\s*getParameter\s*\(/ ascii
    condition:
        filesize < 4MB and $ctx_jsp and ($direct or (any of ($exec*) and $req and filesize < 200KB))
}

rule backdoor_webshell_asp
{
    meta:
        id = "backdoor.webshell-asp"
        category = "backdoor"
        severity = "critical"
        description = "ASP/ASP.NET webshell: Eval/Execute or a shell on request input"
    strings:
        $ctx_asp = "<%" ascii
        $a = /\b(eval|execute|executeglobal)\s*\(?\s*request\s*(\.\s*(form|querystring|item))?\s*[\(\[]/ ascii nocase
        $b = /createobject\s*\(\s*"wscript\.shell"\s*\)/ ascii nocase
        $c = /\.exec\s*\(\s*"?(cmd(\.exe)?\s*\/c)?"?\s*&?\s*request/ ascii nocase
        $d = /Process\.Start\s*\([^;]{0,120}Request(\.Form|\.QueryString|\.Params)?\s*\[/ ascii nocase
        $e = /request\s*(\.\s*(form|querystring|item))?\s*\(/ ascii nocase
    condition:
        filesize < 4MB and $ctx_asp and ($a or $d or ($b and $c) or ($b and $e and filesize < 100KB))
}
