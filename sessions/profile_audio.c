/* sessions/profile_audio: a speech session's latency profile, per second of audio (profile.h).
 *
 * One bidirectional layer of the speech model (engine/asr.h) runs, per second of audio, F frames in
 * each of its two directions at batch 1, F = the convolutions' output frames for 100 input frames
 * (10 ms feature hop: asr_out_frames(cfg, 100), 50 for the default stride 2).  So the request
 * measures one LSTM (or, through the accel model, H-LSTM) window of seq = F steps on the layer's input
 * width, and profile_audio_scale turns the per-call curve into microseconds per second of audio:
 * the factor 2 (the directions) is applied there and nowhere else (design note "per second of
 * audio"); the curve is then marked protocol "audio-<base>" (engine/latency.h).
 */
#include "profile.h"

#include <stdio.h>
#include <string.h>

#include "engine/asr.h"

int profile_audio_frames(const ModelConfig *cfg) { return asr_out_frames(cfg, 100); }

TpStatus profile_audio_request(ProfileRequest *q, const ModelConfig *cfg, int layer, int seq_given, int input_given)
{
    if (layer < 0 || layer >= cfg->n_layers)
        return err_set(TP_ERANGE, "profile: layer %d: the model has %d layer(s)", layer, cfg->n_layers);
    int F = profile_audio_frames(cfg);
    if (F < 1) return err_set(TP_EINVAL, "profile: one second of audio gives no frame out of the convolutions");
    if (seq_given && q->seq != F)
        return err_set(TP_EINVAL, "profile: seq %d: a speech session's profile is per second of audio, a window of "
                                  "%d frames (100 / the convolutions' time strides); leave seq out or give seq=%d",
                       q->seq, F, F);
    q->seq = F;
    q->bidir = 1;
    if (!input_given) q->input = layer == 0 ? cfg->n_embed : cfg->hidden[layer - 1];
    snprintf(q->cell, sizeof q->cell, "%s", cfg->cell == MODEL_CELL_HLSTM ? "hlstm" : "lstm");
    q->gate_hidden = cfg->cell == MODEL_CELL_HLSTM ? cfg->gate_hidden : 0;
    return TP_OK;
}

TpStatus profile_audio_scale(LatencyCurve *c)
{
    if (latency_curve_is_audio(c)) return err_set(TP_EINVAL, "profile: the curve is already per second of audio");
    char p[sizeof c->protocol];
    if (snprintf(p, sizeof p, "%s%s", LATENCY_AUDIO_PREFIX, c->protocol) >= (int)sizeof p)
        return err_set(TP_ERANGE, "profile: protocol '%s' is too long to mark per second of audio", c->protocol);
    for (int i = 0; i < c->n; i++) { /* one window per direction: forward and backward */
        c->median_us[i] *= PROFILE_AUDIO_DIRECTIONS;
        c->p10_us[i] *= PROFILE_AUDIO_DIRECTIONS;
        c->p90_us[i] *= PROFILE_AUDIO_DIRECTIONS;
        c->mean_us[i] *= PROFILE_AUDIO_DIRECTIONS;
    }
    memcpy(c->protocol, p, sizeof p);
    return TP_OK;
}
