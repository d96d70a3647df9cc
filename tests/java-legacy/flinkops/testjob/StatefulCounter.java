package flinkops.testjob;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;
import org.apache.flink.util.Collector;

/**
 * The test job of tests/java/flinkops/testjob/StatefulCounter.java for Flink releases whose
 * lib/ lacks the newer APIs (1.18: no DataGeneratorSource, no OpenContext, no
 * sink.v2.DiscardingSink). tests/support/testjobs.py picks this tree when those classes are
 * missing from the distribution.
 *
 * <p>Same main class, job name, arguments, operator uids ("source", "counter", "sink") and
 * keyed state (ValueState&lt;Long&gt; "count" per key, 16 keys) as the modern job, so the
 * upgrade, rollback and rescale tests behave the same. The source is a parallel source
 * function: subtask i of p emits i, i+p, i+2p, ... (the same numbers as DataGeneratorSource,
 * split differently), at --rate records/s in total, and keeps its position in operator state.
 */
public class StatefulCounter {

    /** "v1" / "v2" / "failing": only changes the emitted string. */
    static final String VERSION = "@VERSION@";

    /** true for failing.jar: the counter throws in open(), i.e. at task initialisation. */
    static final boolean FAIL_AT_START = @FAIL_AT_START@;

    public static void main(String[] args) throws Exception {
        String name = "stateful-counter";
        double rate = 20;
        long checkpointInterval = -1;
        long failAfterMs = -1;
        long count = Long.MAX_VALUE;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--name": name = args[i + 1]; break;
                case "--rate": rate = Double.parseDouble(args[i + 1]); break;
                case "--checkpoint-interval-ms": checkpointInterval = Long.parseLong(args[i + 1]); break;
                case "--fail-after-ms": failAfterMs = Long.parseLong(args[i + 1]); break;
                case "--count": count = Long.parseLong(args[i + 1]); break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (checkpointInterval > 0) {
            env.enableCheckpointing(checkpointInterval);
        }

        env.addSource(new Sequence(count, rate), "source", Types.LONG)
                .uid("source")
                .keyBy(x -> x % 16)
                .process(new Counter(failAfterMs))
                .uid("counter")
                .name("counter")
                .addSink(new DiscardingSink<>())
                .uid("sink")
                .name("sink");

        env.execute(name);
    }

    /** 0 .. count-1 across the parallel subtasks, rate-limited; bounded when count is finite. */
    public static class Sequence extends RichParallelSourceFunction<Long> implements CheckpointedFunction {
        private final long count;
        private final double rate;
        private transient ListState<Long> positionState;
        private long position;  // how many numbers this subtask has emitted
        private volatile boolean running = true;

        public Sequence(long count, double rate) {
            this.count = count;
            this.rate = rate;
        }

        @Override
        public void run(SourceContext<Long> ctx) throws Exception {
            int subtask = getRuntimeContext().getIndexOfThisSubtask();
            int parallelism = getRuntimeContext().getNumberOfParallelSubtasks();
            double perSubtask = rate / parallelism;
            long started = System.nanoTime();
            long emittedHere = 0;
            while (running) {
                long next = position * parallelism + subtask;
                if (next >= count || next < 0) {
                    return;  // bounded: this subtask is done
                }
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(next);
                    position++;
                }
                emittedHere++;
                long due = started + (long) (emittedHere * 1e9 / perSubtask);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            positionState.update(java.util.Collections.singletonList(position));
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            positionState = context.getOperatorStateStore().getListState(
                    new ListStateDescriptor<>("position", Types.LONG));
            position = 0;
            for (Long restored : positionState.get()) {
                position = Math.max(position, restored);
            }
        }
    }

    /** Counts records per key in a ValueState<Long>. */
    public static class Counter extends KeyedProcessFunction<Long, Long, String> {
        private transient ValueState<Long> count;
        private transient long startedAt;
        private final long failAfterMs;

        public Counter(long failAfterMs) {
            this.failAfterMs = failAfterMs;
        }

        // open(Configuration): the only open() of Flink 1.18 (OpenContext came with 1.19).
        @Override
        public void open(Configuration parameters) throws Exception {
            if (FAIL_AT_START) {
                throw new RuntimeException("flinkops test job: failing at start on purpose");
            }
            startedAt = System.currentTimeMillis();
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<String> out) throws Exception {
            if (failAfterMs > 0 && System.currentTimeMillis() - startedAt > failAfterMs) {
                throw new RuntimeException("flinkops test job: failing after " + failAfterMs + " ms on purpose");
            }
            if (count == null) {
                count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            }
            Long current = count.value();
            long next = (current == null ? 0L : current) + 1;
            count.update(next);
            out.collect(VERSION + " key=" + ctx.getCurrentKey() + " count=" + next);
        }
    }
}
