/*
 * campaignq's claim protocol as a Promela model, checked exhaustively by spin:
 * sql/queries/queue.sql (the claim), common/store/campaign_store.cc (cancel,
 * close) and Apply. What it covers and leaves out: docs/model.md.
 * Run: scripts/check-model (this model, then the broken variant).
 *
 * The database is the committed state below. Each transaction (worker batch,
 * cancel, close) keeps its writes in its own locals until COMMIT, which
 * applies them in one atomic step; a transaction that dies (worker killed,
 * connection lost, session timed out) drops them and releases its lock:
 * PostgreSQL's rollback. Since the committed state changes only in those
 * steps, checking the invariants at the end of each (committed()) checks them
 * in every reachable state.
 *
 * -DBLOCKING: workers wait for the campaign they picked instead of skipping
 * it (the blocking lock mode; the default is skip-locked).
 * -DMERGED: the broken protocol. The claim's step 1 (lock the campaign) and
 * step 2 (read and decide its pending applications) are one statement, so
 * step 2 reads the snapshot taken when that statement started, before the
 * campaign lock was granted. The check must find a violation (it does: the
 * cap overflows).
 */

#define NWORKERS 3
#define NAPPS    4      /* applicants; application ids are 0..NAPPS-1 in INSERT order */
#define BATCH    2      /* --batch-size */
#define NCANCELS 2      /* CancelApplication calls that commit */

/* Campaign 0: 2 seats and a waitlist. Campaign 1: 1 seat, no waitlist. */
#define CAP(c)      ((c) == 0 -> 2 : 1)
#define WAITLIST(c) ((c) == 0)

/* applications.status; NONE: no row (not inserted, or the Apply was refused). */
#define NONE       0
#define INSERTED   1    /* INSERTed, id taken, not committed: invisible to others */
#define PENDING    2
#define APPROVED   3
#define WAITLISTED 4
#define REJ_FULL   5    /* rejected, reason campaign_full */
#define REJ_CLOSED 6    /* rejected, reason campaign_closed */
#define CANCELLED  7
/* Model only: rejected campaign_full, and a cancellation has given a seat of
 * its campaign back since. The database cannot tell it from REJ_FULL; FCFS
 * can: such an application may see a later applicant take that seat. */
#define REJ_FULL_SEAT_BACK 8
/* Can never again be the application FCFS says was passed over. */
#define SETTLED(s) ((s) == APPROVED || (s) == CANCELLED || (s) == REJ_CLOSED || \
                    (s) == REJ_FULL_SEAT_BACK)

#define FREE 0          /* lock_holder[c]: FREE, or the holder's _pid + 1 */

/* ---- committed database state ------------------------------------------ */
byte status[NAPPS];
bit  campaign_of[NAPPS];
byte approved_count[2];
bool closed[2];
byte lock_holder[2];     /* the campaign row's FOR NO KEY UPDATE lock */

/* ---- bookkeeping for the assertions (not database state) --------------- */
byte next_id;            /* identity sequence: taken at INSERT */
bool applies_done;       /* every applicant has applied (or been refused) */
/* committed_before[b], bit a: a (same campaign) was committed, so visible,
 * before b's INSERT: a's Apply had returned before b's could have been sent,
 * the pairs FCFS orders (docs/architecture.md, "First come, first served"). A bit is
 * cleared once it can no longer matter (forget_settled, seat_freed): this
 * keeps histories that differ only in settled pairs from counting as
 * different states (an order of magnitude fewer). */
byte committed_before[NAPPS];

/* Scratch for the d_step computations: hidden, so not part of the state. */
hidden byte i, j, n;
hidden byte cc, taken;   /* decide(): the campaign being decided, decisions so far */
/* A worker's batch holds campaign c, and campaign 1 too when both. */
#define UNLOCK_HELD lock_holder[c] = FREE; if :: both -> lock_holder[1] = FREE :: else -> skip fi; c = 0; both = false
#define CLEAR_SNAP_CAMPAIGNS snap_count[0] = 0; snap_count[1] = 0; snap_closed[0] = 0; snap_closed[1] = 0


#define VISIBLE_PENDING(a, c) (status[a] == PENDING && campaign_of[a] == (c))
#define HAS_PENDING(c) (VISIBLE_PENDING(0, c) || VISIBLE_PENDING(1, c) || \
                        VISIBLE_PENDING(2, c) || VISIBLE_PENDING(3, c))
#define NOTHING_PENDING (!HAS_PENDING(0) && !HAS_PENDING(1))
#define CANCELLABLE(s) ((s) == PENDING || (s) == WAITLISTED || (s) == APPROVED)
#define BIT(mask, a) (((mask) >> (a)) & 1)

/* The cap; approved_count = approved rows; no waitlisted application while
 * its open campaign has a free seat, nor in a closed campaign; and FCFS: no
 * application approved while one of its campaign committed before it was
 * sent waits on the waitlist or was rejected campaign_full (with no seat
 * freed since: see seat_freed). */
inline check_invariants() {
  i = 0;
  do
  :: i < 2 ->
     n = 0; j = 0;
     do
     :: j < NAPPS -> n = n + (status[j] == APPROVED && campaign_of[j] == i); j++
     :: else -> break
     od;
     assert(n <= CAP(i));                 /* the cap: approved rows <= max_participants */
     assert(approved_count[i] == n);      /* approved_count = approved rows */
     j = 0;
     do
     :: j < NAPPS ->
        /* waitlisted only while the open campaign is full */
        assert(!(status[j] == WAITLISTED && campaign_of[j] == i && !closed[i] &&
                 approved_count[i] < CAP(i)));
        /* no one waitlisted in a closed campaign */
        assert(!(status[j] == WAITLISTED && campaign_of[j] == i && closed[i]));
        j++
     :: else -> break
     od;
     i++
  :: else -> break
  od;
  i = 0;
  do
  :: i < NAPPS ->
     j = 0;
     do
     :: j < NAPPS ->
        /* FCFS: j approved, i passed over although committed before j was sent */
        assert(!(status[j] == APPROVED && BIT(committed_before[j], i) &&
                 (status[i] == WAITLISTED || status[i] == REJ_FULL)));
        j++
     :: else -> break
     od;
     i++
  :: else -> break
  od;
  i = 0; j = 0; n = 0
}

/* Drops the FCFS pairs that can no longer be broken: a SETTLED can never
 * again be the one passed over; b rejected or cancelled can never again be
 * approved. */
inline forget_settled() {
  i = 0;
  do
  :: i < NAPPS ->
     if
     :: SETTLED(status[i]) ->
        j = 0;
        do
        :: j < NAPPS -> committed_before[j] = committed_before[j] & ~(1 << i); j++
        :: else -> break
        od
     :: else -> skip
     fi;
     if
     :: status[i] == REJ_FULL || status[i] == REJ_FULL_SEAT_BACK || status[i] == REJ_CLOSED ||
        status[i] == CANCELLED ->
        committed_before[i] = 0
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0; j = 0
}

/* After every COMMIT. The committed state changes only there. */
inline committed() {
  check_invariants();
  forget_settled()
}

/* A cancellation gave a seat of campaign c back. FCFS when seats come back:
 * an application rejected campaign_full stays rejected, and the seat may go
 * to a later applicant. (A waitlisted one has no such exception: the seat
 * goes to the oldest on the waitlist.) */
inline seat_freed(c) {
  i = 0;
  do
  :: i < NAPPS ->
     if
     :: campaign_of[i] == c && status[i] == REJ_FULL -> status[i] = REJ_FULL_SEAT_BACK
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  i = 0
}

/* ---- Apply --------------------------------------------------------------
 * ApplicationInsertBatch: reads the campaign (a closed one refuses the Apply),
 * INSERTs a pending row (the id is taken now), and the row becomes visible at
 * COMMIT, which may come later and after later INSERTs' commits. One process
 * for all applicants: the applicants are interchangeable, so one process
 * choosing among them gives every interleaving without permuting names. */
inline apply(c) {
  if
  :: !closed[c] ->
     campaign_of[next_id] = c;
     status[next_id] = INSERTED;
     i = 0;
     do
     :: i < NAPPS ->
        if
        :: status[i] >= PENDING && !SETTLED(status[i]) && campaign_of[i] == c ->
           committed_before[next_id] = committed_before[next_id] | (1 << i)
        :: else -> skip
        fi;
        i++
     :: else -> break
     od;
     printf("MSC: Apply: application %d INSERTed into campaign %d (not visible yet)\n", next_id, c);
     next_id++
  :: else -> printf("MSC: Apply to closed campaign %d refused\n", c)  /* FAILED_PRECONDITION */
  fi;
  applied++
}

proctype applicants() {
  byte applied = 0;
  do
  :: applied < NAPPS -> d_step { apply(0) }
  :: applied < NAPPS -> d_step { apply(1) }
  :: d_step { status[0] == INSERTED -> status[0] = PENDING; printf("MSC: Apply: application 0 COMMITs (pending, visible)\n") }  /* COMMIT */
  :: d_step { status[1] == INSERTED -> status[1] = PENDING; printf("MSC: Apply: application 1 COMMITs (pending, visible)\n") }
  :: d_step { status[2] == INSERTED -> status[2] = PENDING; printf("MSC: Apply: application 2 COMMITs (pending, visible)\n") }
  :: d_step { status[3] == INSERTED -> status[3] = PENDING; printf("MSC: Apply: application 3 COMMITs (pending, visible)\n") }
  :: atomic {
       applied == NAPPS && status[0] != INSERTED && status[1] != INSERTED &&
       status[2] != INSERTED && status[3] != INSERTED -> applies_done = true; break
     }
  od
}

/* Workers are numbered 1..NWORKERS in the trails (spin's _pid 2..). */
#define WORKER (_pid - 1)

/* ---- worker ---------------------------------------------------------------
 * One batch = one call of an entry point of queue::ClaimProtocol
 * (common/queue/claim.h), one READ COMMITTED transaction
 * (sql/queries/queue.sql). Which entry point a worker calls next is its
 * ClaimPolicy (worker/claim_policy.h), from wake-ups, back-offs and the last
 * result: abstracted here as a free choice among the claims below, so every
 * order of them the policy could produce is covered.
 *   1. lock a campaign with pending work, FOR NO KEY UPDATE:
 *      DecideByWindow (skip-locked, the default; a held campaign is skipped)
 *      or, with -DBLOCKING, DecideFairestBlocking, DecideCampaign and
 *      DecideIsolatedHead (wait for the one picked). DecideFairestNowait is
 *      skip-locked's refusal: nothing decided, the batch rolls back
 *      (BatchResult::lock_refused). Which campaign is fairest, or named, is
 *      abstracted: any with pending work may be picked. DecideByWindow may
 *      also lock both campaigns in one batch (in id order; SKIP LOCKED never
 *      waits, so locking them is one step: a held one is simply not taken,
 *      which is the one-campaign claim). DecideNotified (step 0) decides as
 *      step 1a does, without the campaign lock, for uncapped campaigns only:
 *      left out with it (docs/model.md).
 *   2. ApplicationDecideBatch, a new statement, so a snapshot taken after the
 *      locks were granted: campaign by campaign in id order, the oldest
 *      pending applications (up to BATCH in all, FOR UPDATE, id order),
 *      decided against each campaign's approved_count and status read in
 *      that statement; the UPDATEs stay in the transaction until
 *   3. COMMIT.
 * The worker may die (rollback) at any point before COMMIT; it then starts
 * again (a replacement worker). It stops when every applicant has applied and
 * nothing is pending. */

/* Step 2's decisions, from the statement's snapshot: the oldest pending
 * applications first, up to BATCH; buffered in verdict[] until COMMIT. FOR
 * UPDATE re-reads a row that changed since the snapshot and drops it if it is
 * no longer pending (PostgreSQL's EvalPlanQual), before LIMIT counts it. */
inline decide() {
  taken = 0;
  cc = c;
  do
  :: cc < 2 && (cc == c || both) ->
     position = 0;
     i = 0;
     do
     :: i < NAPPS ->
        if
        :: BIT(snap_pending, i) && campaign_of[i] == cc && taken < BATCH && status[i] == PENDING ->
           position++;
           taken++;
           if
           :: snap_closed[cc] -> verdict[i] = REJ_CLOSED;
              printf("MSC: worker %d: application %d -> rejected campaign_closed\n", WORKER, i)
           :: !snap_closed[cc] && position + snap_count[cc] <= CAP(cc) -> verdict[i] = APPROVED;
              printf("MSC: worker %d: application %d -> approved (position %d, approved_count %d, cap %d)\n",
                     WORKER, i, position, snap_count[cc], CAP(cc))
           :: else ->
              if
              :: WAITLIST(cc) -> verdict[i] = WAITLISTED;
                 printf("MSC: worker %d: application %d -> waitlisted\n", WORKER, i)
              :: else -> verdict[i] = REJ_FULL;
                 printf("MSC: worker %d: application %d -> rejected campaign_full\n", WORKER, i)
              fi
           fi
        :: else -> skip
        fi;
        i++
     :: else -> break
     od;
     cc++
  :: else -> break
  od;
  cc = 0; taken = 0;
  position = 0; snap_pending = 0; CLEAR_SNAP_CAMPAIGNS
}

/* COMMIT: the buffered UPDATEs, each guarded by status = 'pending' (asserted
 * never to find another status: decided at most once), each campaign's
 * approved_count += its rows approved; the locks are released. A campaign
 * closed before this COMMIT gets only campaign_closed decisions. */
inline commit() {
  i = 0;
  do
  :: i < NAPPS ->
     if
     :: verdict[i] != NONE ->
        assert(status[i] == PENDING);                    /* decided at most once */
        assert(!closed[campaign_of[i]] || verdict[i] == REJ_CLOSED);  /* a closed campaign takes no one */
        status[i] = verdict[i];
        approved_count[campaign_of[i]] = approved_count[campaign_of[i]] + (verdict[i] == APPROVED);
        verdict[i] = NONE
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  printf("MSC: worker %d: COMMIT; approved_count %d %d\n", WORKER, approved_count[0], approved_count[1]);
  UNLOCK_HELD;
  committed()
}

/* Death before COMMIT: PostgreSQL rolls back. Nothing was written; the locks
 * are released. */
inline rollback() {
  printf("MSC: worker %d: dies before COMMIT; rolled back, campaign %d unlocked (and 1: %d)\n", WORKER, c, both);
  UNLOCK_HELD;
  i = 0;
  do
  :: i < NAPPS -> verdict[i] = NONE; i++
  :: else -> break
  od;
  position = 0; snap_pending = 0; CLEAR_SNAP_CAMPAIGNS
}

#define PENDING_CHAR(a) (BIT(snap_pending, a) -> '0' + (a) : '-')

/* A statement's snapshot of campaign c, or of both (the worker's locals). */
inline snapshot() {
  snap_pending = 0;
  i = 0;
  do
  :: i < NAPPS ->
     if
     :: VISIBLE_PENDING(i, c) || (both && status[i] == PENDING) -> snap_pending = snap_pending | (1 << i)
     :: else -> skip
     fi;
     i++
  :: else -> break
  od;
  snap_count[0] = approved_count[0]; snap_count[1] = approved_count[1];
  snap_closed[0] = closed[0]; snap_closed[1] = closed[1];
  /* pending ids as characters: '0'..'3' for a pending one, '-' for not */
  printf("MSC: worker %d: statement snapshot of campaign %d (and 1: %d): approved_count %d %d, pending [%c %c %c %c]\n",
         WORKER, c, both, snap_count[0], snap_count[1], PENDING_CHAR(0), PENDING_CHAR(1), PENDING_CHAR(2), PENDING_CHAR(3))
}

#define LOCK lock_holder[c] = _pid + 1; printf("MSC: worker %d: locks campaign %d\n", WORKER, c)
#ifdef MERGED
/* Broken: one statement locks and reads, so it reads the snapshot taken when
 * it started, before the lock was granted. */
#define STATEMENT_SNAPSHOT snapshot()
#else
#define STATEMENT_SNAPSHOT skip
#endif

proctype worker() {
  byte c;                  /* the campaign of this batch (the first, when both) */
  bool both;               /* skip-locked: this batch holds campaigns 0 and 1 */
  byte snap_pending;       /* step 2's snapshot: the held campaigns' pending applications (bit mask), */
  byte snap_count[2];      /* their approved_count */
  bool snap_closed[2];     /* and whether each was closed */
  byte verdict[NAPPS];     /* the batch's buffered UPDATEs (NONE: untouched) */
  byte position;

idle:
  do
  :: atomic { applies_done && NOTHING_PENDING -> break }
#if defined(MERGED) || defined(BLOCKING)
  /* Step 1 picks a campaign with pending work (the fairest, or the one
   * DecideCampaign / DecideIsolatedHead names); the lock comes after. */
  :: atomic { HAS_PENDING(0) -> c = 0; STATEMENT_SNAPSHOT; goto claim }
  :: atomic { HAS_PENDING(1) -> c = 1; STATEMENT_SNAPSHOT; goto claim }
#else
  /* DecideByWindow: the claim takes a free campaign with pending work, in
   * one step (nothing is read before the lock that the decision uses). */
  :: atomic { HAS_PENDING(0) && lock_holder[0] == FREE -> c = 0; LOCK; goto locked }
  :: atomic { HAS_PENDING(1) && lock_holder[1] == FREE -> c = 1; LOCK; goto locked }
  /* several campaigns in one batch, locked in id order */
  :: atomic { HAS_PENDING(0) && HAS_PENDING(1) && lock_holder[0] == FREE && lock_holder[1] == FREE ->
              c = 0; LOCK; lock_holder[1] = _pid + 1; both = true;
              printf("MSC: worker %d: locks campaign 1 too\n", WORKER); goto locked }
#endif
  od;
  goto finished;

claim:
  if
  :: atomic { lock_holder[c] == FREE -> LOCK }  /* granted (blocking: perhaps after waiting) */
#ifndef BLOCKING
  :: atomic { lock_holder[c] != FREE -> c = 0; snap_pending = 0; CLEAR_SNAP_CAMPAIGNS; goto idle }  /* SKIP LOCKED; NOWAIT's lock_refused */
#endif
  fi;

locked:
  if
  :: atomic { rollback(); goto idle }  /* dies holding the lock */
  :: d_step {
#ifndef MERGED
       /* Step 2: a new statement, a snapshot taken now, under the lock. */
       snapshot();
#endif
       decide()
     }
  fi;
  if
  :: atomic { rollback(); goto idle }  /* dies before COMMIT */
  :: d_step { commit() }
  fi;
  goto idle;

finished:
  skip
}

/* ---- CancelApplication --------------------------------------------------
 * Reads the application (its campaign), locks the campaign (waiting), then
 * the application (ApplicationLock: the latest version); cancels it if it is
 * still pending, waitlisted or approved. An approved one's seat goes to the
 * campaign's oldest waitlisted application if the campaign is open (a new
 * statement: it sees every decision committed before the lock), else
 * approved_count drops. It may die holding the lock (rollback).
 * Choosing the application is folded into the lock step: the read before it
 * has no effect, and a caller that waits for the lock is one that chose later.
 * What it does under the lock is folded into COMMIT: nothing else changes the
 * campaign's rows while it holds the lock (Applies only add pending rows,
 * which it ignores). */
inline lock_for_cancel(k) {
  atomic {
    cancels < NCANCELS && CANCELLABLE(status[k]) && lock_holder[campaign_of[k]] == FREE ->
    a = k; c = campaign_of[k]; lock_holder[c] = _pid + 1;
    printf("MSC: cancel: locks campaign %d to cancel application %d\n", c, k)
  }
}

proctype canceller() {
  byte cancels = 0;
  byte a, c, was, promoted;

start:
  do
  :: break                 /* no (more) cancellations */
  :: lock_for_cancel(0); goto holding
  :: lock_for_cancel(1); goto holding
  :: lock_for_cancel(2); goto holding
  :: lock_for_cancel(3); goto holding
  od;
  goto done;

holding:
  if
  :: d_step { printf("MSC: cancel: dies; rolled back\n"); lock_holder[c] = FREE; a = 0; c = 0 }; goto start  /* dies: rollback; the caller may retry */
  :: d_step {
       was = status[a];
       promoted = NAPPS;
       if
       :: was == APPROVED && !closed[c] ->
          i = 0;
          do
          :: i < NAPPS && status[i] == WAITLISTED && campaign_of[i] == c -> promoted = i; break
          :: i < NAPPS && !(status[i] == WAITLISTED && campaign_of[i] == c) -> i++
          :: else -> break
          od
       :: else -> skip
       fi;
       /* COMMIT */
       if
       :: CANCELLABLE(was) ->
          status[a] = CANCELLED;
          if
          :: was == APPROVED ->
             if
             :: promoted < NAPPS -> status[promoted] = APPROVED;
                printf("MSC: cancel: application %d (approved) cancelled; %d promoted from the waitlist\n", a, promoted)
             :: else -> approved_count[c] = approved_count[c] - 1;
                printf("MSC: cancel: application %d (approved) cancelled; approved_count %d\n", a, approved_count[c])
             fi;
             seat_freed(c)
          :: else -> printf("MSC: cancel: application %d cancelled\n", a)
          fi
       :: else -> printf("MSC: cancel: application %d no longer cancellable\n", a)  /* FAILED_PRECONDITION */
       fi;
       lock_holder[c] = FREE;
       committed();
       cancels++;
       a = 0; c = 0; was = 0; promoted = 0
     }
  fi;
  goto start;
done:
  skip
}

/* ---- CloseCampaign --------------------------------------------------------
 * CampaignMarkClosed (an UPDATE: takes the campaign lock, waiting), then in a
 * new statement rejects the pending and waitlisted applications it sees
 * (campaign_closed). It may die holding the lock; the caller then retries.
 * As for cancel, the statements under the lock are folded into COMMIT. */
proctype closer() {
  byte c;

start:
  do
  :: break                 /* closes nothing (more) */
  :: atomic { lock_holder[0] == FREE -> c = 0; lock_holder[0] = _pid + 1;
              printf("MSC: close: locks campaign 0\n") }; goto holding
  :: atomic { lock_holder[1] == FREE -> c = 1; lock_holder[1] = _pid + 1;
              printf("MSC: close: locks campaign 1\n") }; goto holding
  od;
  goto done;

holding:
  if
  :: d_step { printf("MSC: close: dies; rolled back\n"); lock_holder[c] = FREE; c = 0 }; goto start  /* dies: rollback; the caller may retry */
  :: d_step {              /* CampaignMarkClosed, ApplicationRejectOpenOfClosedCampaign, COMMIT */
       closed[c] = true;
       printf("MSC: close: campaign %d closed, its pending and waitlisted rejected; COMMIT\n", c);
       i = 0;
       do
       :: i < NAPPS ->
          if
          :: campaign_of[i] == c && (status[i] == PENDING || status[i] == WAITLISTED) ->
             status[i] = REJ_CLOSED
          :: else -> skip
          fi;
          i++
       :: else -> break
       od;
       lock_holder[c] = FREE;
       c = 0;
       committed()
     }
  fi;
done:
  skip
}

init {
  atomic {
    run applicants();
    i = 0;
    do
    :: i < NWORKERS -> run worker(); i++
    :: else -> break
    od;
    run canceller();
    run closer()
  }
  /* Everyone has finished: nothing is left pending or uncommitted, no lock
   * is held, and the invariants hold. */
  (_nr_pr == 1);
  d_step {
    i = 0;
    do
    :: i < NAPPS -> assert(status[i] != PENDING && status[i] != INSERTED); i++  /* all decided */
    :: else -> break
    od;
    assert(lock_holder[0] == FREE && lock_holder[1] == FREE);  /* no lock left held */
    check_invariants()
  }
}
