/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* What a domain uses of the host, read from its definition: disks,
 * interfaces, NVRAM, TPM, the bases of its linked disks and its template.
 * Removing a VM, recovering an interrupted operation and finding orphans
 * ask the same question of every domain: who still uses this?
 */

typedef struct
{
  char     *device;     /* disk, cdrom, floppy, lun */
  char     *target;     /* vda */
  char     *path;       /* file or block device, NULL for a pool volume */
  char     *pool;       /* with volume, for <source pool= volume=> */
  char     *volume;
  char     *format;
  gboolean  readonly;
  gboolean  shareable;
} TsrDiskUse;

typedef struct
{
  char      *name;
  char      *uuid;
  gboolean   active;
  GPtrArray *disks;        /* TsrDiskUse */
  GPtrArray *backing;      /* paths of the disks' backing chains (live XML) */
  GStrv      bases;        /* Tessera's record of linked bases */
  GPtrArray *networks;     /* network names, with macs[i] */
  GPtrArray *macs;         /* lower case */
  char      *nvram;
  GPtrArray *logs;         /* <log file=> of serial and console devices */
  gboolean   tpm_emulator;
  char      *klass;        /* Tessera's class: AppVM, TemplateVM… */
  char      *template_name;
  char      *netvm;
} TsrDomainUses;

TsrDomainUses *tsr_domain_uses_parse (const char    *xml);
void           tsr_domain_uses_free  (TsrDomainUses *uses);
/* Every domain of CONN (blocking: workers only); NULL when libvirt could
 * not list them.
 */
GPtrArray     *tsr_domain_uses_all   (virConnectPtr  conn);
/* Every path, "POOL/VOLUME" and NVRAM file the domains of ALL use,
 * mapped to the name of one that uses it, leaving out EXCEPT_UUID.
 */
GHashTable    *tsr_domain_uses_paths (GPtrArray     *all,
                                      const char    *except_uuid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrDomainUses, tsr_domain_uses_free)

G_END_DECLS
