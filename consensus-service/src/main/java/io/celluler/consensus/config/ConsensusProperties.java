package io.celluler.consensus.config;

import java.nio.file.Path;
import java.time.Duration;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * consensus-service settings ({@code celluler.consensus.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir              where this service keeps its state: the validator key and the generated genesis
 *                             (the ledger is in the database)
 * @param genesisFile          the network's genesis (validators and stakes); unset: {@code <data-dir>/genesis.json},
 *                             created on first start with this cell as the only validator
 * @param chainName            the chain name of a genesis created here
 * @param networkAddress       host:port of this cell's network-service (gRPC): validators talk through it
 * @param tick                 the engine's clock tick
 * @param roundTimeout         a round without progress times out after this long …
 * @param maxRoundTimeout      … growing by half for each round without a certificate, up to this
 * @param idleProposalDelay    with nothing to order, a leader proposes an empty block after this long
 * @param maxBlockTxs          transactions in one block at most
 * @param maxBlockSize         transaction bytes in one block at most (a proposal must fit in one network message)
 * @param maxPoolTxs           transactions waiting in the pool at most: more are refused (RESOURCE_EXHAUSTED)
 * @param poolTtl              a pooled transaction not committed within this time expires
 * @param maxValidityBlocks    a transaction's valid_until_height may be at most this far above the head
 * @param keptCommittedBlocks  committed blocks kept in memory to serve lagging validators …
 * @param keptCommittedSize    … and their transaction bytes at most (further back, a lagging validator catches up
 *                             from a ledger)
 * @param ledgerSyncThreshold  a validator whose committed tip is more than this many blocks below the certificates
 *                             it sees fetches committed blocks (with their finality proofs) from another's ledger
 * @param senderRate           signed transactions admitted per second per sender key (a token bucket) …
 * @param senderBurst          … with this burst
 * @param gossipIntervalMin    admitted transactions are gossiped to the other validators in batches, every
 *                             {@code gossipRounds} × the measured round time, but not more often than this …
 * @param gossipIntervalMax    … nor less often than this (a batch that fills a message goes at once)
 * @param gossipRounds         see {@code gossipIntervalMin}
 * @param inboxCapacity        events (messages, submissions) waiting for the consensus loop at most
 */
@Validated
@ConfigurationProperties("celluler.consensus")
public record ConsensusProperties(@NotNull Path dataDir, Path genesisFile, @NotBlank String chainName,
        @NotBlank String networkAddress, @NotNull Duration tick, @NotNull Duration roundTimeout,
        @NotNull Duration maxRoundTimeout, @NotNull Duration idleProposalDelay, @Min(1) int maxBlockTxs,
        @NotNull DataSize maxBlockSize, @Min(1) int maxPoolTxs, @NotNull Duration poolTtl, @Min(1) long maxValidityBlocks,
        @Min(1) int keptCommittedBlocks, @NotNull DataSize keptCommittedSize, @Min(1) int ledgerSyncThreshold,
        @Min(1) int senderRate, @Min(1) int senderBurst, @NotNull Duration gossipIntervalMin,
        @NotNull Duration gossipIntervalMax, @Positive double gossipRounds,
        @Min(16) int inboxCapacity) implements ServiceDataDir {
}
