package flinkops.testjob;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

import java.util.SplittableRandom;

/**
 * Test job for the flinkops.cookbook integration tests.
 *
 * <p>One source file, three jars: the build (tests/support/testjobs.py) replaces the
 * {@code @VERSION@} and {@code @FAIL_AT_START@} tokens. All variants share the main class
 * and the operator uids ("source", "counter", "sink") and keep the same state
 * (ValueState&lt;Long&gt; "count" per key), so a savepoint of one restores into another.
 *
 * <p>Args: --name NAME (default "stateful-counter"), --rate N records/s (default 20),
 * --checkpoint-interval-ms MS (default: cluster configuration), --fail-after-ms MS (each
 * counter subtask throws once it has run that long: a job that starts fine and then
 * keeps restarting, for the post-upgrade validation tests), --count N (a bounded source of N
 * records: the job FINISHES, as a backfill over a closed range does), --keys K (distinct keys,
 * default 16: records are keyed by index % K), --payload-bytes N (default 0: none; else each
 * key also keeps a ValueState&lt;byte[]&gt; "payload" of N pseudo-random bytes, seeded by the key
 * and written once, the first time the key is seen: keyed state of about K * N bytes, for the
 * large-state benchmark bench/large_state_upgrade.py).
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
        long keys = 16;
        int payloadBytes = 0;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--name": name = args[i + 1]; break;
                case "--rate": rate = Double.parseDouble(args[i + 1]); break;
                case "--checkpoint-interval-ms": checkpointInterval = Long.parseLong(args[i + 1]); break;
                case "--fail-after-ms": failAfterMs = Long.parseLong(args[i + 1]); break;
                case "--count": count = Long.parseLong(args[i + 1]); break;
                case "--keys": keys = Long.parseLong(args[i + 1]); break;
                case "--payload-bytes": payloadBytes = Integer.parseInt(args[i + 1]); break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (checkpointInterval > 0) {
            env.enableCheckpointing(checkpointInterval);
        }

        DataGeneratorSource<Long> source = new DataGeneratorSource<>(
                index -> index, count, RateLimiterStrategy.perSecond(rate), Types.LONG);

        final long distinctKeys = keys;
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "source")
                .uid("source")
                .keyBy(x -> x % distinctKeys)
                .process(new Counter(failAfterMs, payloadBytes))
                .uid("counter")
                .name("counter")
                .sinkTo(new DiscardingSink<>())
                .uid("sink")
                .name("sink");

        env.execute(name);
    }

    /** Counts records per key in a ValueState<Long>; with payloadBytes > 0 also keeps a payload per key. */
    public static class Counter extends KeyedProcessFunction<Long, Long, String> {
        private transient ValueState<Long> count;
        private transient ValueState<byte[]> payload;
        private transient long startedAt;
        private final long failAfterMs;
        private final int payloadBytes;

        public Counter(long failAfterMs) {
            this(failAfterMs, 0);
        }

        public Counter(long failAfterMs, int payloadBytes) {
            this.failAfterMs = failAfterMs;
            this.payloadBytes = payloadBytes;
        }

        // Only overridden to fail on purpose; OpenContext exists in Flink 1.19+ and 2.x.
        // v1/v2 do not depend on it (the state is obtained lazily below).
        @Override
        public void open(OpenContext openContext) throws Exception {
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
            if (payloadBytes > 0 && current == null) {
                // first record of this key: write its payload once (deterministic: seeded by the key)
                if (payload == null) {
                    payload = getRuntimeContext().getState(new ValueStateDescriptor<>(
                            "payload", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
                }
                byte[] bytes = new byte[payloadBytes];
                new SplittableRandom(ctx.getCurrentKey()).nextBytes(bytes);
                payload.update(bytes);
            }
            out.collect(VERSION + " key=" + ctx.getCurrentKey() + " count=" + next);
        }
    }
}
