/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-archive.h"

G_BEGIN_DECLS

/* What the tar and zip readers share: the checks every member passes and
 * the little-endian fields of zip and image headers.
 */

/* NAME without its leading "./" (and a doubled leading "/"), newly
 * allocated.
 */
char     *tsr_archive_normalise_name  (const char        *name);
/* Refuses a name that would point outside the archive. */
gboolean  tsr_archive_check_name      (const char        *name,
                                       GError           **error);
/* More members than any appliance has. */
void      tsr_archive_set_too_many    (GError           **error);
/* Adds MEMBER (taking it) to MEMBERS, refusing past the member limit and a
 * regular file SEEN before.
 */
gboolean  tsr_archive_add_member      (GPtrArray         *members,
                                       GHashTable        *seen,
                                       TsrArchiveMember  *member,
                                       GError           **error);
/* The archive ends inside MEMBER (NULL: between members). */
void      tsr_archive_set_truncated   (GError           **error,
                                       const char        *member);

static inline guint16
tsr_read_le16 (const guint8 *p)
{
  return p[0] | (p[1] << 8);
}

static inline guint32
tsr_read_le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static inline guint64
tsr_read_le64 (const guint8 *p)
{
  return (guint64) tsr_read_le32 (p) | ((guint64) tsr_read_le32 (p + 4) << 32);
}

G_END_DECLS
