/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sys/types.h>
#include <libvirt/libvirt.h>
#include <libxml/tree.h>

#include "tsr-cloner.h"
#include "tsr-journal.h"
#include "tsr-connection-private.h"
#include "tsr-libvirt-private.h"
#include "tsr-storage-private.h"

G_BEGIN_DECLS


typedef struct
{
  xmlNodePtr        node;          /* <disk> in the clone's definition */
  xmlNodePtr        source_node;   /* the same <disk> in the source's (linked) */
  char             *target;        /* vda */
  char             *src_path;
  char             *src_format;
  virStorageVolPtr  src_vol;       /* NULL for a file in no pool */
  virStoragePoolPtr src_pool;
  guint64           capacity;
  guint64           work;          /* bytes a copy moves: its share of the progress */
  gboolean          has_backing;   /* an overlay: a full copy flattens it */
  gboolean          local_copy;    /* Tessera copies the file itself */

  virStoragePoolPtr dst_pool;
  char             *dst_pool_name;
  char             *dst_name;
  char             *dst_path;
  virStorageVolPtr  dst_vol;       /* made: removed on failure */
  gboolean          dst_written;   /* a file Tessera wrote */

  /* linked */
  char             *overlay_name;  /* the source's new top */
  char             *overlay_path;
  virStorageVolPtr  overlay_vol;
  mode_t            base_mode;
  gboolean          base_mode_changed;
} CloneDisk;

typedef struct
{
  char *network;
  char *mac;
} Reservation;

typedef struct
{
  TsrCloneSpec   *spec;
  char           *source_uuid;
  virConnectPtr   conn;
  GMutex         *reserve_lock;
  TsrProgress     progress;
  gboolean        local;

  char           *source_name;
  char           *source_xml;     /* as it was, to put back */
  xmlDocPtr       doc;            /* becomes the clone's definition */
  xmlDocPtr       source_doc;     /* becomes the source's (linked) */
  GPtrArray      *disks;          /* of CloneDisk */
  guint64         total;
  guint64         done;

  GPtrArray      *planned;        /* of Reservation: addresses to reserve */
  GThread        *reserve_thread; /* reserves them meanwhile */
  GError         *reserve_error;

  /* made so far, for the rollback */
  GPtrArray      *reserved;       /* of Reservation */
  char           *nvram_copy;
  char           *tpm_copy;       /* the clone's TPM state folder */
  gboolean        source_switched;
  virDomainPtr    clone_dom;

  TsrJournal     *journal;        /* for the recovery after a crash */

  /* results */
  GPtrArray      *infos;          /* of TsrNetworkInfo */
  GString        *warning;
} CloneData;

gboolean tsr_cloner_qcow2_header       (const char  *path,
                                        guint64     *capacity,
                                        char       **backing);
guint64  tsr_cloner_data_bytes         (int fd);
guint64  tsr_cloner_chain_allocation   (const char *path,
                                        const char *format);
void     tsr_cloner_set_no_space_error (GError     **error,
                                        CloneDisk   *disk);
gboolean tsr_cloner_copy_sparse        (CloneData     *data,
                                        CloneDisk     *disk,
                                        GCancellable  *cancellable,
                                        GError       **error);
gboolean tsr_cloner_copy_flatten       (CloneData     *data,
                                        CloneDisk     *disk,
                                        GCancellable  *cancellable,
                                        GError       **error);
gboolean tsr_cloner_check_cancelled    (GCancellable  *cancellable,
                                        GError       **error);
void     tsr_cloner_set_errno_error    (GError     **error,
                                        int          errsv,
                                        const char  *what,
                                        const char  *path);

void     tsr_cloner_set_disk_source (xmlNodePtr        disk,
                                     virStorageVolPtr  vol,
                                     const char       *pool,
                                     const char       *vol_name,
                                     const char       *path,
                                     const char       *format);
gboolean tsr_cloner_plan_disk       (CloneData   *data,
                                     xmlNodePtr   node,
                                     xmlNodePtr   source_node,
                                     GHashTable  *planned,
                                     GError     **error);
gboolean tsr_cloner_read_source      (CloneData   *data,
                                     GError     **error);
gboolean tsr_cloner_new_definitions (CloneData   *data,
                                     GError     **error);
gboolean tsr_cloner_plan            (CloneData     *data,
                                     char         **nvram_src,
                                     char         **nvram_dst,
                                     GCancellable  *cancellable,
                                     GError       **error);

/* tsr-cloner.c */
void     tsr_cloner_add_warning        (CloneData   *data,
                                        const char  *text);

/* tsr-cloner-tpm.c */
gboolean tsr_cloner_copy_tpm_state     (CloneData   *data,
                                        GError     **error);
void     tsr_cloner_remove_tpm_copy    (CloneData   *data);

/* tsr-cloner-identity.c */
gboolean tsr_cloner_plan_interfaces    (CloneData   *data,
                                        xmlNodePtr   devices,
                                        const char  *oui,
                                        GError     **error);
void     tsr_cloner_start_reservations (CloneData   *data);
gboolean tsr_cloner_join_reservations  (CloneData   *data,
                                        GError     **error);
gboolean tsr_cloner_plan_nvram         (CloneData   *data,
                                        xmlNodePtr   os,
                                        char       **src_out,
                                        char       **dst_out,
                                        GError     **error);
gboolean tsr_cloner_copy_nvram         (CloneData   *data,
                                        const char  *src,
                                        const char  *dst,
                                        GError     **error);

/* tsr-cloner-disks.c */
gboolean tsr_cloner_check_space        (CloneData     *data,
                                        GError       **error);
gboolean tsr_cloner_make_disks         (CloneData     *data,
                                        GCancellable  *cancellable,
                                        GError       **error);
gboolean tsr_cloner_switch_source      (CloneData     *data,
                                        GError       **error);

/* tsr-cloner-rollback.c */
void     tsr_cloner_rollback           (CloneData   *data);

G_END_DECLS
