/*
 * Userland rootkits and process hiders: small shared objects meant for /etc/ld.so.preload that
 * define readdir() themselves and reach the real one through dlsym(RTLD_NEXT, ...).
 *
 * libc defines readdir but does not import dlsym; the sanitizer runtimes (libasan, libtsan)
 * intercept readdir and import dlsym but are megabytes large with thousands of symbols.
 *
 * Every rule here needs `rootkit_elf_shared_object` (an ELF header), so explorer runs this file on
 * ELF data only (the line below): the elf module costs on every file it is imported for.
 */

// explorer: elf-only

import "elf"

private rule rootkit_elf_shared_object
{
    condition:
        uint32(0) == 0x464c457f and elf.type == elf.ET_DYN
}

private rule rootkit_hooks_readdir
{
    condition:
        rootkit_elf_shared_object and
        for any s in elf.dynsym : ((s.name == "readdir" or s.name == "readdir64") and s.shndx != 0 and
                                   s.type == elf.STT_FUNC) and
        for any s in elf.dynsym : (s.name == "dlsym" and s.shndx == 0)
}

rule backdoor_libprocesshider
{
    meta:
        id = "backdoor.libprocesshider"
        category = "backdoor"
        severity = "critical"
        description = "libprocesshider-style preload library hiding a process from readdir"
    strings:
        $a1 = "process_to_filter" ascii
        $a2 = "get_process_name" ascii
        $a3 = "get_dir_name" ascii
        $p1 = "/proc/self/fd/%d" ascii
        $p2 = "/proc/%s/stat" ascii
        $p3 = "/proc" ascii
    condition:
        rootkit_hooks_readdir and 2 of ($a*) and any of ($p*)
}

rule backdoor_preload_readdir_hook
{
    meta:
        id = "backdoor.preload-readdir-hook"
        category = "backdoor"
        severity = "high"
        description = "Small preload library that overrides readdir and calls the real one via dlsym (process/file hider)"
    strings:
        $proc = /\/proc\/(%[sd]|self)\// ascii
        $proc2 = "/proc" ascii fullword
        $preload = "ld.so.preload" ascii
    condition:
        rootkit_hooks_readdir and filesize < 2MB and elf.dynsym_entries < 400 and any of them
}

rule backdoor_userland_rootkit
{
    meta:
        id = "backdoor.userland-rootkit"
        category = "backdoor"
        severity = "critical"
        description = "Preload rootkit: hooks readdir and file/network functions and references ld.so.preload"
    strings:
        $preload = "/etc/ld.so.preload" ascii
    condition:
        $preload and rootkit_elf_shared_object and filesize < 5MB and
        for any s in elf.dynsym : (s.name == "dlsym" and s.shndx == 0) and
        for 3 s in elf.dynsym : (
            s.name matches /^(readdir|readdir64|fopen|fopen64|open|open64|stat|lstat|__xstat|__lxstat|accept|access|unlink|unlinkat|rmdir|opendir)$/ and
            s.shndx != 0 and s.type == elf.STT_FUNC)
}
