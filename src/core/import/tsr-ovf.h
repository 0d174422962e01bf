/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Readers for what VirtualBox exports: tar (.ova) and zip indexes, OVF
 * descriptors and disk image headers. Pure functions over untrusted bytes,
 * no I/O of their own (archives are read through a TsrReadAtFunc), so they
 * are unit-tested and fuzzed in isolation (tests/fuzz/fuzz-ovf.c).
 */

/* Limits past which an input is refused as absurd rather than processed. */
#define TSR_ARCHIVE_MAX_MEMBERS  4096
#define TSR_ARCHIVE_MAX_NAME     1024
#define TSR_OVF_MAX_SIZE         (16 * 1024 * 1024)
#define TSR_OVF_MAX_DISKS        26   /* vda…vdz */
#define TSR_OVF_MAX_CAPACITY     (G_GUINT64_CONSTANT (1) << 50)   /* 1 PiB */
#define TSR_OVF_MAX_MEMORY_MIB   (G_GUINT64_CONSTANT (16) << 20)  /* 16 TiB */
#define TSR_OVF_MAX_VCPUS        4096

/* Reads exactly LEN bytes at OFFSET into BUF, or fails. */
typedef gboolean (*TsrReadAtFunc) (gpointer   data,
                                   guint64    offset,
                                   void      *buf,
                                   gsize      len,
                                   GError   **error);

typedef struct
{
  char    *name;          /* normalised: no leading "./" */
  guint64  offset;        /* of the member's (stored) data in the archive */
  guint64  size;          /* stored bytes */
  guint64  full_size;     /* bytes once decompressed (zip); = size otherwise */
  guint    method;        /* zip: 0 stored, 8 deflated; tar: always 0 */
  gboolean regular;       /* a plain file (not a link, device, directory…) */
} TsrArchiveMember;

void                    tsr_archive_member_free  (TsrArchiveMember *member);

/* Every member of a tar (ustar, GNU long names and base-256 sizes, pax
 * path and size records). Refuses the whole archive when a member name is
 * absolute or has a ".." component, when a regular file appears twice, when
 * a header is damaged or a member runs past SIZE (truncated), and past the
 * limits above.
 */
GPtrArray              *tsr_tar_index            (TsrReadAtFunc     read_at,
                                                  gpointer          data,
                                                  guint64           size,
                                                  GError          **error);
/* The same for a zip (with zip64), from its central directory. */
GPtrArray              *tsr_zip_index            (TsrReadAtFunc     read_at,
                                                  gpointer          data,
                                                  guint64           size,
                                                  GError          **error);
const TsrArchiveMember *tsr_archive_find         (GPtrArray        *members,
                                                  const char       *name);
/* Relative, no ".." component, no empty name, no backslash or control
 * characters.
 */
gboolean                tsr_archive_name_is_safe (const char       *name);

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
  char      *os_type;     /* vbox:OSType or the OS description, NULL = none */
  char      *os_family;   /* windows, linux or other */
  GPtrArray *disks;       /* TsrOvfDisk, in the order they are attached */
  GPtrArray *warnings;    /* char *: hardware that is not imported */
} TsrOvf;

TsrOvf                 *tsr_ovf_parse            (const char       *data,
                                                  gsize             len,
                                                  GError          **error);
void                    tsr_ovf_free             (TsrOvf           *ovf);

/* The qemu driver named by a disk image's own header: "vmdk" (hosted
 * sparse or streamOptimized), "vmdk-descriptor" (a text descriptor naming
 * other files), "vdi", "vpc", "vhdx", "qcow2", or NULL when there is no
 * known header (a raw image, or not an image). HEAD is the start of the
 * file (1 KiB is enough), TAIL its last 512 bytes (a fixed VHD's footer).
 */
const char             *tsr_image_sniff          (const guint8     *head,
                                                  gsize             head_len,
                                                  const guint8     *tail,
                                                  gsize             tail_len);
/* The qemu driver a file name's extension promises, "raw" for .img, .raw
 * and .bin, or NULL.
 */
const char             *tsr_image_format_for_name (const char      *name);
/* A valid VM name (DESIGN §4) made from TEXT ("Windows 10 (64-bit)" →
 * "Windows-10-64-bit"); "imported" when nothing usable is left.
 */
char                   *tsr_import_suggest_name  (const char       *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrOvf, tsr_ovf_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrArchiveMember, tsr_archive_member_free)

G_END_DECLS
