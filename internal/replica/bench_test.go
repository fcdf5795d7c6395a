package replica

import (
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// BenchmarkAppend compares an append through the replica manager (acks=1
// and acks=all, the latter through the produce purgatory) with the same
// append straight to the log, the baseline measured in the same run.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"log", "acks=1", "acks=all"} {
		b.Run(mode, func(b *testing.B) {
			b.StopTimer()
			env := newEnv(b)
			a := tp("bench", 0)
			env.lead(a, 0)
			p, _ := env.m.Partition(a)
			batches := make([][]byte, b.N)
			for i := range batches {
				batches[i] = batch(b, 10, 100)
			}
			done := make(chan []AppendResult, 1)
			b.SetBytes(int64(len(batches[0])))
			b.StartTimer()
			for i := range b.N {
				switch mode {
				case "log":
					if _, err := p.Log().Append(batches[i], storage.AppendOptions{Origin: storage.OriginClient}); err != nil {
						b.Fatal(err)
					}
				default:
					acks := int16(1)
					if mode == "acks=all" {
						acks = -1
					}
					env.m.AppendRecords(acks, time.Second, storage.OriginClient, []AppendRequest{{TP: a, Records: batches[i]}},
						func(r []AppendResult) { done <- r })
					if r := <-done; r[0].Err != nil {
						b.Fatal(r[0].Err)
					}
				}
			}
		})
	}
}
