/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* What the host can run, read from libvirt's capabilities. */
typedef struct
{
  gboolean  hvm;          /* os type hvm on ARCH */
  gboolean  xen_pv;       /* os type xen */
  gboolean  xen_pvh;      /* os type xenpvh */
  gboolean  kvm_listed;   /* domain type kvm offered for hvm */
  gboolean  kvm_usable;   /* ... and it can really run here */
  gboolean  uefi;         /* OVMF firmware in the domain capabilities */
  char     *arch;         /* x86_64, or the host's only guest architecture */
  char     *virt_type;    /* the domain type Tessera uses: kvm, qemu, xen or test */
  char     *notice;       /* why virt_type is not kvm, for the user; NULL when it is */
  guint     host_cpus;
  guint64   host_memory;  /* MiB of RAM on the host; 0 when unknown */
} TsrHostCaps;

TsrHostCaps *tsr_host_caps_parse      (const char  *caps_xml,
                                       const char  *domcaps_xml,
                                       gboolean     local,
                                       guint        host_cpus);
TsrHostCaps *tsr_host_caps_read_sync  (virConnectPtr  conn,
                                       gboolean       local,
                                       GError       **error);
void         tsr_host_caps_free       (TsrHostCaps *caps);
gboolean     tsr_host_kvm_usable_here (void);
GStrv        tsr_kernels_list         (const char  *dir);
gboolean     tsr_kernel_exists        (const char  *dir,
                                       const char  *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrHostCaps, tsr_host_caps_free)

G_END_DECLS
