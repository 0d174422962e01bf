/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The OVF descriptor of an appliance (.ovf, or inside an .ova): the VM's
 * name, memory, vCPUs, firmware, operating system and disks in the order
 * they are attached. A pure function over untrusted bytes, unit-tested and
 * fuzzed in isolation (tests/fuzz/fuzz-ovf.c).
 */

/* Limits past which a descriptor is refused as absurd rather than read. */
#define TSR_OVF_MAX_SIZE         (16 * 1024 * 1024)
#define TSR_OVF_MAX_DISKS        26   /* vda…vdz */
#define TSR_OVF_MAX_CAPACITY     (G_GUINT64_CONSTANT (1) << 50)   /* 1 PiB */
#define TSR_OVF_MAX_MEMORY_MIB   (G_GUINT64_CONSTANT (16) << 20)  /* 16 TiB */
#define TSR_OVF_MAX_VCPUS        4096

typedef struct
{
  char    *id;            /* ovf:diskId */
  char    *href;          /* the file in the appliance; NULL = a new blank disk */
  guint64  capacity;      /* bytes, 0 = not given */
  guint64  file_size;     /* bytes of the file, 0 = not given */
  char    *format;        /* qemu driver from ovf:format, NULL = not given */
} TsrOvfDisk;

typedef struct
{
  char      *name;        /* as written; may not be a valid VM name */
  guint64    memory;      /* MiB, 0 = not given */
  guint      vcpus;       /* 0 = not given */
  char      *firmware;    /* bios or uefi */
  char      *os_type;     /* vbox:OSType or the OS description, NULL = none;
                             tsr_osinfo_match_ovf_type() reads it */
  GPtrArray *disks;       /* TsrOvfDisk, in the order they are attached */
  GPtrArray *warnings;    /* char *: hardware that is not imported */
} TsrOvf;

TsrOvf *tsr_ovf_parse (const char  *data,
                       gsize        len,
                       GError     **error);
void    tsr_ovf_free  (TsrOvf      *ovf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrOvf, tsr_ovf_free)

G_END_DECLS
