/*
 * Packed executables. Packing is not malice (some vendors ship UPX binaries), but it hides the
 * strings every other rule looks for, so it is worth a look.
 */

rule suspicious_upx_elf
{
    meta:
        id = "suspicious.upx-packed-elf"
        category = "suspicious"
        severity = "medium"
        description = "UPX-packed ELF executable"
    strings:
        $magic = "UPX!" ascii
        $info = "$Info: This file is packed with the UPX executable packer" ascii
        $id = "$Id: UPX " ascii
    condition:
        uint32(0) == 0x464c457f and $magic in (0..0x400) and ($info or $id or #magic >= 2)
}

rule suspicious_upx_pe
{
    meta:
        id = "suspicious.upx-packed-pe"
        category = "suspicious"
        severity = "medium"
        description = "UPX-packed Windows executable"
    strings:
        $s0 = "UPX0" ascii
        $s1 = "UPX1" ascii
        $magic = "UPX!" ascii
    condition:
        uint16(0) == 0x5a4d and uint32(uint32(0x3c)) == 0x00004550 and
        $s0 in (0..0x400) and $s1 in (0..0x400) and $magic
}
