//! G.711 WAV files seen as 16-bit PCM WAV files: the header is rewritten and each 8-bit
//! sample expands to two bytes, so any byte range of the PCM file maps to a range of the
//! stored one (ITU-T G.711 expansion).

/// The companding of a G.711 recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Law {
    Mu,
    A,
}

impl Law {
    /// The linear sample of one stored byte.
    pub fn expand(self, byte: u8) -> i16 {
        match self {
            Law::Mu => {
                let b = !byte;
                let exponent = (b >> 4) & 0x07;
                let mantissa = i32::from(b & 0x0f);
                let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
                let v = if b & 0x80 != 0 { -magnitude } else { magnitude };
                v as i16
            }
            Law::A => {
                let b = byte ^ 0x55;
                let exponent = (b >> 4) & 0x07;
                let mantissa = i32::from(b & 0x0f);
                let magnitude = match exponent {
                    0 => (mantissa << 4) + 8,
                    e => ((mantissa << 4) + 0x108) << (e - 1),
                };
                let v = if b & 0x80 != 0 { magnitude } else { -magnitude };
                v as i16
            }
        }
    }
}

/// Where a G.711 WAV keeps its samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct G711Wav {
    pub law: Law,
    pub channels: u16,
    pub sample_rate: u32,
    /// Offset and length of the `data` chunk's samples in the stored file.
    pub data_offset: u64,
    pub data_len: u64,
}

/// Bytes of the PCM file's header.
pub const PCM_HEADER_BYTES: u64 = 44;

impl G711Wav {
    /// Reads the start of a WAV file (the `fmt ` and the start of the `data` chunk must be
    /// in `head`); `None` for anything but a G.711 WAV.
    pub fn parse(head: &[u8], file_len: u64) -> Option<Self> {
        if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
            return None;
        }
        let mut at = 12usize;
        let mut format: Option<(Law, u16, u32)> = None;
        while at + 8 <= head.len() {
            let id = &head[at..at + 4];
            let size = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?);
            let body = at + 8;
            if id == b"fmt " {
                let fmt = head.get(body..body + 16)?;
                let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
                let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
                let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
                let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
                let law = match tag {
                    7 => Law::Mu,
                    6 => Law::A,
                    _ => return None,
                };
                if bits != 8 || channels == 0 {
                    return None;
                }
                format = Some((law, channels, rate));
            } else if id == b"data" {
                let (law, channels, sample_rate) = format?;
                let data_offset = body as u64;
                let data_len = u64::from(size).min(file_len.saturating_sub(data_offset));
                return Some(Self {
                    law,
                    channels,
                    sample_rate,
                    data_offset,
                    data_len,
                });
            }
            // Chunks are padded to an even size.
            at = body.checked_add(size as usize + (size as usize & 1))?;
        }
        None
    }

    /// The size of the PCM file.
    pub fn pcm_len(&self) -> u64 {
        PCM_HEADER_BYTES + 2 * self.data_len
    }

    /// The stored bytes needed for PCM bytes `start..end` (within the samples).
    pub fn source_range(&self, start: u64, end: u64) -> std::ops::Range<u64> {
        let first = start.max(PCM_HEADER_BYTES) - PCM_HEADER_BYTES;
        let last = end.max(PCM_HEADER_BYTES) - PCM_HEADER_BYTES;
        self.data_offset + first / 2..self.data_offset + last.div_ceil(2)
    }

    /// PCM bytes `start..end` of the PCM file, given the stored bytes of
    /// [`Self::source_range`]`(start, end)`.
    pub fn pcm_bytes(&self, start: u64, end: u64, source: &[u8]) -> Vec<u8> {
        let header = pcm_header(self.channels, self.sample_rate, 2 * self.data_len);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        let mut at = start;
        while at < end.min(PCM_HEADER_BYTES) {
            out.push(header[at as usize]);
            at += 1;
        }
        let first_sample = (at.max(PCM_HEADER_BYTES) - PCM_HEADER_BYTES) / 2;
        while at < end {
            let sample = (at - PCM_HEADER_BYTES) / 2;
            let Some(&byte) = source.get((sample - first_sample) as usize) else {
                break;
            };
            let pcm = self.law.expand(byte).to_le_bytes();
            out.push(pcm[((at - PCM_HEADER_BYTES) % 2) as usize]);
            at += 1;
        }
        out
    }
}

/// The 44-byte header of a 16-bit PCM WAV with `data_len` bytes of samples.
pub fn pcm_header(channels: u16, sample_rate: u32, data_len: u64) -> [u8; 44] {
    let data_len = u32::try_from(data_len).unwrap_or(u32::MAX);
    let block = channels.saturating_mul(2);
    let mut h = [0u8; 44];
    h[..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate * u32::from(block)).to_le_bytes());
    h[32..34].copy_from_slice(&block.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A G.711 WAV of `samples` with a `LIST` chunk before `data`, as PBXs write them.
    fn stored(law_tag: u16, samples: &[u8]) -> Vec<u8> {
        let mut f = b"RIFF\0\0\0\0WAVE".to_vec();
        f.extend_from_slice(b"fmt \x12\0\0\0");
        f.extend_from_slice(&law_tag.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&8000u32.to_le_bytes());
        f.extend_from_slice(&8000u32.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&8u16.to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes());
        f.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        f.extend_from_slice(b"data");
        f.extend_from_slice(&(samples.len() as u32).to_le_bytes());
        f.extend_from_slice(samples);
        f
    }

    #[test]
    fn known_values_expand_as_g711_says() {
        assert_eq!(Law::Mu.expand(0xff), 0);
        assert_eq!(Law::Mu.expand(0x7f), 0);
        assert_eq!(Law::Mu.expand(0x80), 32124);
        assert_eq!(Law::Mu.expand(0x00), -32124);
        assert_eq!(Law::A.expand(0xd5), 8);
        assert_eq!(Law::A.expand(0x55), -8);
        assert_eq!(Law::A.expand(0xaa), 32256);
    }

    #[test]
    fn only_g711_wavs_are_read() {
        let file = stored(7, &[1, 2, 3]);
        let wav = G711Wav::parse(&file, file.len() as u64).expect("μ-law");
        assert_eq!(
            (wav.law, wav.channels, wav.sample_rate, wav.data_len),
            (Law::Mu, 1, 8000, 3)
        );
        assert_eq!(&file[wav.data_offset as usize..], &[1, 2, 3]);
        assert!(
            G711Wav::parse(&stored(1, &[1, 2]), 100).is_none(),
            "PCM plays as it is"
        );
        assert!(G711Wav::parse(b"ID3 not a wav", 13).is_none());
        assert!(
            G711Wav::parse(&file[..30], file.len() as u64).is_none(),
            "no data chunk in view"
        );
    }

    proptest! {
        #[test]
        fn any_range_of_the_pcm_file_is_the_same_bytes_as_the_whole(
            samples in proptest::collection::vec(any::<u8>(), 0..64),
            a in 0u64..200,
            b in 0u64..200,
            alaw in any::<bool>(),
        ) {
            let file = stored(if alaw { 6 } else { 7 }, &samples);
            let wav = G711Wav::parse(&file, file.len() as u64).expect("wav");
            let whole = wav.pcm_bytes(0, wav.pcm_len(), &file[wav.source_range(0, wav.pcm_len()).start as usize..]);
            prop_assert_eq!(whole.len() as u64, wav.pcm_len());
            let (start, end) = (a.min(b).min(wav.pcm_len()), a.max(b).min(wav.pcm_len()));
            let src = wav.source_range(start, end);
            let part = wav.pcm_bytes(start, end, &file[src.start as usize..src.end as usize]);
            prop_assert_eq!(&part[..], &whole[start as usize..end as usize]);
        }
    }
}
