/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Indexes of the archives VirtualBox exports and users pass around: tar
 * (.ova, tsr-tar.c) and zip (tsr-zip.c). Pure functions over untrusted
 * bytes with no I/O of their own (the archive is read through a
 * TsrReadAtFunc), so they are unit-tested and fuzzed in isolation
 * (tests/fuzz/fuzz-ovf.c).
 */

/* Limits past which an archive is refused as absurd rather than read. */
#define TSR_ARCHIVE_MAX_MEMBERS  4096
#define TSR_ARCHIVE_MAX_NAME     1024

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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrArchiveMember, tsr_archive_member_free)

G_END_DECLS
