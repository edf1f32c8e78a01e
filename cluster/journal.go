package cluster

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tailrace/tailrace/loadgen"
	tailracepb "github.com/tailrace/tailrace/proto"
	"github.com/tailrace/tailrace/reports"
)

// The journal is the coordinator's flight recorder: every interval a worker
// sends is appended as it arrives, before it is merged, so that whatever
// happens to the coordinator afterwards (a crash, SIGKILL, a full disk when
// results.json is written) the data received so far can be rebuilt with
// ReplayJournal. It holds worker intervals rather than merged ones because
// that is what exists first; replaying them runs the same merge as the live
// run.
//
// Format: the 8 bytes journalMagic, then records, each a 4-byte big-endian
// length and a tailracepb.JournalRecord. A crash can leave the last record
// cut short; the reader stops there.
const journalMagic = "TRJRNL1\n"

// IsJournal reports whether a file starting with head is a journal.
func IsJournal(head []byte) bool { return string(head) == journalMagic }

// maxJournalRecord bounds one record, so a corrupt length cannot make the
// reader allocate without limit. An interval record is a few tens of KB.
const maxJournalRecord = 64 << 20

// journal appends records. Its methods do nothing on a nil journal, and
// keep the first write error for close. Not safe for concurrent use.
type journal struct {
	f   *os.File
	w   *bufio.Writer
	buf []byte
	err error
}

func createJournal(path string) (*journal, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cluster: journal: %w", err)
	}
	j := &journal{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if _, err := j.w.WriteString(journalMagic); err != nil {
		f.Close()
		return nil, fmt.Errorf("cluster: journal: %w", err)
	}
	return j, nil
}

// write appends one record and hands it to the kernel: a record the
// coordinator received survives the coordinator's death, if not the
// machine's (no fsync per record: that would cost a disk flush per worker
// per second).
func (j *journal) write(rec *tailracepb.JournalRecord) {
	if j == nil || j.err != nil {
		return
	}
	var err error
	j.buf, err = proto.MarshalOptions{}.MarshalAppend(append(j.buf[:0], 0, 0, 0, 0), rec)
	if err != nil {
		j.err = fmt.Errorf("cluster: journal: %w", err)
		return
	}
	binary.BigEndian.PutUint32(j.buf, uint32(len(j.buf)-4))
	if _, err := j.w.Write(j.buf); err != nil {
		j.err = fmt.Errorf("cluster: journal: %w", err)
		return
	}
	if err := j.w.Flush(); err != nil {
		j.err = fmt.Errorf("cluster: journal: %w", err)
	}
}

func (j *journal) run(res *reports.Results) {
	if j == nil {
		return
	}
	b, err := json.Marshal(res)
	if err != nil {
		j.err = fmt.Errorf("cluster: journal: %w", err)
		return
	}
	j.write(&tailracepb.JournalRecord{Kind: &tailracepb.JournalRecord_Run{Run: &tailracepb.JournalRun{ResultsJson: b}}})
}

func (j *journal) arm(arm int, mode loadgen.Mode, t0 time.Time, exemplars int, plan time.Duration) {
	j.write(&tailracepb.JournalRecord{Kind: &tailracepb.JournalRecord_Arm{Arm: &tailracepb.JournalArm{
		Arm: uint32(arm), Mode: string(mode), T0UnixNs: t0.UnixNano(), Exemplars: uint32(exemplars), PlanNs: int64(plan),
	}}})
}

func (j *journal) interval(worker int, iv *tailracepb.Interval) {
	j.write(&tailracepb.JournalRecord{Kind: &tailracepb.JournalRecord_Interval{Interval: &tailracepb.JournalInterval{
		Worker: uint32(worker), Interval: iv,
	}}})
}

func (j *journal) lost(arm, worker int, at time.Duration, reason string) {
	j.write(&tailracepb.JournalRecord{Kind: &tailracepb.JournalRecord_Lost{Lost: &tailracepb.JournalLost{
		Arm: uint32(arm), Worker: uint32(worker), AtNs: int64(at), Reason: reason,
	}}})
}

func (j *journal) end(runErr error, warnings []string) {
	e := &tailracepb.JournalEnd{Warnings: warnings}
	if runErr != nil {
		e.Error = runErr.Error()
	}
	j.write(&tailracepb.JournalRecord{Kind: &tailracepb.JournalRecord_End{End: e}})
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	if err := j.w.Flush(); err != nil && j.err == nil {
		j.err = fmt.Errorf("cluster: journal: %w", err)
	}
	if err := j.f.Close(); err != nil && j.err == nil {
		j.err = fmt.Errorf("cluster: journal: %w", err)
	}
	return j.err
}

// errTruncated reports a journal whose last record was cut short.
var errTruncated = errors.New("cluster: journal ends mid-record")

// readJournal calls f for every record of the journal r, in order. A
// record cut short at the end stops it with errTruncated.
func readJournal(r io.Reader, f func(*tailracepb.JournalRecord) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(journalMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != journalMagic {
		return errors.New("cluster: not a tailrace journal (bad header)")
	}
	var hdr [4]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return errTruncated
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxJournalRecord {
			return fmt.Errorf("cluster: journal record of %d bytes (corrupt journal?)", n)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return errTruncated
		}
		rec := new(tailracepb.JournalRecord)
		if err := proto.Unmarshal(buf, rec); err != nil {
			return fmt.Errorf("cluster: journal record: %w", err)
		}
		if err := f(rec); err != nil {
			return err
		}
	}
}

// ReplayJournal rebuilds a run's results from its journal (DIR/journal),
// with the same merge the live run made: after a clean run the results
// equal what the run wrote, and after a crash they hold everything the
// coordinator had received, marked incomplete.
func ReplayJournal(path string) (*reports.Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	defer f.Close()
	var (
		res   *reports.Results
		m     *merger
		b     *reports.ArmBuilder
		arm   = -1
		ended bool
	)
	closeArm := func() error {
		if m == nil {
			return nil
		}
		m.close()
		a, err := b.Arm()
		if err != nil {
			return err
		}
		res.Arms = append(res.Arms, a)
		merr := m.err
		m, b = nil, nil
		return merr
	}
	rerr := readJournal(f, func(rec *tailracepb.JournalRecord) error {
		if res == nil && rec.GetRun() == nil {
			return errors.New("cluster: journal does not start with its run record")
		}
		switch k := rec.Kind.(type) {
		case *tailracepb.JournalRecord_Run:
			if res != nil {
				return errors.New("cluster: journal has two run records")
			}
			res = new(reports.Results)
			if err := json.Unmarshal(k.Run.GetResultsJson(), res); err != nil {
				return fmt.Errorf("cluster: journal run record: %w", err)
			}
			res.Arms = nil
		case *tailracepb.JournalRecord_Arm:
			if err := closeArm(); err != nil {
				return err
			}
			a := k.Arm
			arm = int(a.GetArm())
			t0 := time.Unix(0, a.GetT0UnixNs())
			b = reports.NewArmBuilder(a.GetMode(), t0, int(a.GetExemplars()))
			names := make([]string, len(res.Workers))
			for i, w := range res.Workers {
				names[i] = w.Name
			}
			m = newMerger(b, nil, t0, int(a.GetExemplars()), time.Duration(a.GetPlanNs()), names)
		case *tailracepb.JournalRecord_Interval:
			w := int(k.Interval.GetWorker())
			iv := k.Interval.GetInterval()
			if m == nil || w >= len(res.Workers) || int(iv.GetArm()) != arm {
				return fmt.Errorf("cluster: journal interval of worker %d, arm %d, outside its arm", w, iv.GetArm())
			}
			if err := m.addWire(w, iv); err != nil {
				return err
			}
			b.AddWorker(res.Workers[w].Name, m.tallyOf(iv))
		case *tailracepb.JournalRecord_Lost:
			w := int(k.Lost.GetWorker())
			if m == nil || w >= len(res.Workers) {
				return fmt.Errorf("cluster: journal loss of worker %d outside an arm", w)
			}
			m.finish(w, true)
			s := time.Duration(k.Lost.GetAtNs()).Seconds()
			res.Workers[w].LostAt = &s
		case *tailracepb.JournalRecord_End:
			ended = true
			res.Warnings = k.End.GetWarnings()
			res.Incomplete = k.End.GetError() != ""
		}
		return nil
	})
	if res == nil {
		if rerr == nil {
			rerr = errors.New("cluster: journal is empty")
		}
		return nil, rerr
	}
	if rerr != nil && !errors.Is(rerr, errTruncated) {
		return nil, rerr
	}
	if err := closeArm(); err != nil {
		return nil, err
	}
	if !ended {
		res.Incomplete = true
		res.Warnings = append(warnings(res), "the journal has no end record: the coordinator stopped before the run finished; these results hold what it had received")
	}
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	if n := len(res.Arms); n > 0 {
		last := res.Arms[n-1]
		res.DurationS = last.StartedAt.Add(time.Duration(last.DurationS * float64(time.Second))).Sub(res.StartedAt).Seconds()
	}
	return res, nil
}
