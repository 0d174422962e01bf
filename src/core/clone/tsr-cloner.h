/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"
#include "tsr-creator.h"

G_BEGIN_DECLS

/* What a clone is made with. Everything else is the source's: label, class,
 * memory, vCPUs, virt mode, kernel, kernel options, firmware and metadata.
 * The clone always gets a new UUID; new MACs, new address reservations on
 * the same networks, its own NVRAM and its own disks unless said otherwise.
 */
typedef struct
{
  char     *name;      /* the new VM */
  gboolean  linked;    /* qcow2 overlays on a shared read-only base, not copies */
  gboolean  keep_mac;  /* keep the source's MACs, and with them its addresses */
  char     *pool;      /* storage pool for the clone's disks; NULL = the source disk's */
} TsrCloneSpec;

TsrCloneSpec *tsr_clone_spec_new                 (const char           *name);
TsrCloneSpec *tsr_clone_spec_copy                (const TsrCloneSpec   *spec);
void          tsr_clone_spec_free                (TsrCloneSpec         *spec);

/* "<source>-clone-N" with the first N no VM on the connection uses,
 * shortened to fit the name rules. Main thread, no libvirt call.
 */
char         *tsr_connection_suggest_clone_name  (TsrConnection        *self,
                                                  const char           *source);
/* The name rules plus "not in use", from the VM list: for validating as the
 * user types. The clone itself checks again against libvirt.
 */
gboolean      tsr_connection_check_clone_name    (TsrConnection        *self,
                                                  const char           *name,
                                                  GError              **error);

/* Clones SOURCE, which must be shut off (TSR_ERROR_VM_RUNNING otherwise).
 * PROGRESS is called on the caller's main context with bytes done / total
 * over all disks and a stage for the user; total is 0 while a stage has no
 * size. Cancelling CANCELLABLE stops the copy; a cancelled or failed clone
 * leaves nothing behind and the source as it was (G_IO_ERROR_CANCELLED when
 * cancelled). Several clones may run at once.
 *
 * Full clone: every disk the source owns is copied sparsely (read-only,
 * shareable and cdrom disks are shared). Linked clone: the source's disks
 * become read-only bases, and the source and the clone each get a new qcow2
 * overlay on them; both VMs' metadata name the bases they use (see
 * tsr_domain_xml_linked_bases()).
 */
void          tsr_connection_clone_vm_async      (TsrConnection        *self,
                                                  TsrVm                *source,
                                                  const TsrCloneSpec   *spec,
                                                  TsrProgressFunc       progress,
                                                  gpointer              progress_data,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
/* The new VM's name. WARNING, when given, gets what the user should know
 * although the clone succeeded (a shared MAC, NVRAM not copied), or NULL.
 */
char         *tsr_connection_clone_vm_finish     (TsrConnection        *self,
                                                  GAsyncResult         *result,
                                                  char                **warning,
                                                  GError              **error);

/* The base images a domain's disks are overlays on, as recorded by linked
 * clones, nearest first: an image listed by another domain is still in use
 * and must not be deleted with this one.
 */
GStrv         tsr_domain_xml_linked_bases        (const char           *domain_xml);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrCloneSpec, tsr_clone_spec_free)

G_END_DECLS
