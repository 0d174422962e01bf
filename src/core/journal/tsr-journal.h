/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* Intent records: an operation that changes the host in several steps
 * (create, clone, import, rename, remove, a reservation move) writes, before
 * each change, what it is about to make or change, and deletes the record
 * when it has finished (or rolled back). A record whose process is gone is
 * finished by the next Tessera process that connects (tsr-recover.h).
 *
 * A record is a file of lines, one per intent, appended and synced before
 * the change it announces. The process that writes it holds an exclusive
 * flock on it for as long as it runs: a record that can be locked belongs to
 * a process that is gone, and only the one that locks it recovers it.
 *
 * Where nothing can be written (no folder; libvirt's test driver) a
 * journal is kept in memory only. Every function accepts a NULL journal
 * too, and none fails the operation.
 */

typedef struct _TsrJournal TsrJournal;

/* Where records are kept for this account: $TESSERA_JOURNAL_DIR, else the
 * shared /var/lib/tessera/journal where it may be written, else the
 * account's own state folder. Both of the latter are read when recovering.
 */
char       *tsr_journal_dir            (void);
GStrv       tsr_journal_dirs_to_scan   (void);

TsrJournal *tsr_journal_begin          (const char  *uri,
                                        const char  *op,
                                        const char  *vm_name);
/* For an operation on CONN's host, named by libvirt's own URI for it (what
 * recovery compares). libvirt's test driver keeps nothing after its
 * process, so its operations are not recorded unless
 * TESSERA_JOURNAL_DIR says where.
 */
TsrJournal *tsr_journal_begin_for      (virConnectPtr conn,
                                        const char  *op,
                                        const char  *vm_name);
/* libvirt's URI for CONN's host, as records name it. */
char       *tsr_journal_uri            (virConnectPtr conn);
/* The domain the operation defines, by UUID or, where the UUID comes from
 * libvirt, by name (held under the name's lock meanwhile): once it exists,
 * the operation is done.
 */
void        tsr_journal_defines        (TsrJournal  *self,
                                        const char  *uuid);
/* The domain the operation undefines: once it is gone, the rest is done too. */
void        tsr_journal_removes        (TsrJournal  *self,
                                        const char  *uuid);
/* A volume the operation may create (or, removing, delete). */
void        tsr_journal_volume         (TsrJournal  *self,
                                        const char  *pool,
                                        const char  *name,
                                        const char  *path);
/* A file outside the pools the operation may create (NVRAM, a log). */
void        tsr_journal_file           (TsrJournal  *self,
                                        const char  *path);
/* The user's file FROM is about to be renamed to TO (a move into a pool):
 * undoing renames it back, instead of deleting it with the volume.
 */
void        tsr_journal_moved          (TsrJournal  *self,
                                        const char  *from,
                                        const char  *to);
/* A scratch file, deleted whichever way the operation ends. */
void        tsr_journal_temp           (TsrJournal  *self,
                                        const char  *path);
void        tsr_journal_reservation    (TsrJournal  *self,
                                        const char  *network,
                                        const char  *mac);
/* A reservation that existed before and that the operation releases:
 * undoing puts it back as it was.
 */
void        tsr_journal_held           (TsrJournal  *self,
                                        const char  *network,
                                        const char  *mac,
                                        const char  *ip,
                                        const char  *name);
/* A domain the operation changes, and its definition before. */
void        tsr_journal_restore        (TsrJournal  *self,
                                        const char  *uuid,
                                        const char  *xml);
/* A file whose permissions the operation changes, and what they were. */
void        tsr_journal_mode           (TsrJournal  *self,
                                        const char  *path,
                                        guint        mode);
/* Past this point the operation is finished forward, never rolled back. */
void        tsr_journal_commit         (TsrJournal  *self);
/* The operation has ended (done or rolled back): the record goes. */
void        tsr_journal_end            (TsrJournal  *self);
/* The operation on CONN has ended: the record goes, unless the connection
 * broke (libvirtd went away), when an undo may not have reached libvirt:
 * then it stays for the recovery.
 */
void        tsr_journal_end_on         (TsrJournal    *self,
                                        virConnectPtr  conn);
/* The operation has ended with things left to do: the record stays, for
 * recovery to finish.
 */
void        tsr_journal_forget         (TsrJournal  *self);

/* Adds to MACS (lower case, owned) the reservations of this process's
 * operations still running, whether recorded on disk or not.
 */
void        tsr_journal_add_inflight   (GHashTable  *macs);

/* A test hook at a named step of an operation: with
 * TESSERA_TEST_CRASH_AT=STEP in the environment the process kills itself
 * with SIGKILL there; with TESSERA_TEST_PAUSE_AT=STEP it prints
 * "tessera: paused at STEP" on stderr and stops itself (SIGSTOP) until
 * the test sends SIGCONT.
 */
void        tsr_journal_step           (const char  *step);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrJournal, tsr_journal_end)

/* A record read back. */
typedef struct
{
  char      *path;
  char      *uri;
  char      *op;
  char      *vm_name;
  char      *pid;
  GPtrArray *defines;       /* uuids */
  GPtrArray *removes;       /* uuids */
  GPtrArray *volumes;       /* TsrJournalVolume */
  GPtrArray *files;         /* paths */
  GPtrArray *temps;         /* paths */
  GPtrArray *reservations;  /* TsrJournalReservation */
  GPtrArray *held;          /* TsrJournalReservation, with ip and name */
  GPtrArray *restores;      /* TsrJournalRestore */
  GPtrArray *modes;         /* TsrJournalMode */
  GPtrArray *moves;         /* TsrJournalMove */
  gboolean   committed;
} TsrJournalRecord;

typedef struct { char *pool, *name, *path; } TsrJournalVolume;
typedef struct { char *network, *mac, *ip, *name; } TsrJournalReservation;
typedef struct { char *uuid, *xml; } TsrJournalRestore;
typedef struct { char *path; guint mode; } TsrJournalMode;
typedef struct { char *from, *to; } TsrJournalMove;

TsrJournalRecord *tsr_journal_record_parse (const char        *text,
                                            gsize              length);
void              tsr_journal_record_free  (TsrJournalRecord  *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrJournalRecord, tsr_journal_record_free)

/* Records of DIRS: the live ones (their process still runs) are read
 * into LIVE; each of the others is locked, read and handed to FUNC, and
 * deleted when FUNC returns TRUE. A record another process is
 * recovering counts as live.
 */
typedef gboolean (*TsrJournalRecoverFunc) (TsrJournalRecord *record,
                                           gpointer          user_data);
void              tsr_journal_scan         (const char * const *dirs,
                                            GPtrArray          *live,
                                            TsrJournalRecoverFunc func,
                                            gpointer            user_data);

G_END_DECLS
