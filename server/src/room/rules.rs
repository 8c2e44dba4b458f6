//! The demo game's rules, applied once per tick: movement from inputs, firing,
//! projectile hits, deaths and respawns, and orb collection.

use tickwire_protocol::sim::{step_player, velocity_along};
use tickwire_protocol::tuning::{
    FIRE_COOLDOWN_TICKS, KILL_SCORE, MAX_HEALTH, ORB_RADIUS, ORB_SCORE, PLAYER_RADIUS,
    PROJECTILE_DAMAGE, PROJECTILE_LIFETIME_TICKS, PROJECTILE_RADIUS, PROJECTILE_SPEED,
    RESPAWN_TICKS,
};
use tickwire_protocol::{EntityId, EntityKind, EntityState, InputFrame};

use super::world::{Role, World};

impl World {
    /// Advances the world by one tick.
    pub fn step(&mut self) {
        self.tick += 1;
        self.step_players();
        self.spawn_projectiles();
        self.step_projectiles();
        self.collect_orbs();
    }

    /// Applies each player's waiting inputs, as many as its input credit
    /// allows (see [`super::world::MAX_INPUT_CREDIT`]). Movement is driven by
    /// inputs only, so a client replaying its inputs predicts exactly.
    fn step_players(&mut self) {
        self.respawn_due_players();
        let arena = self.arena;
        let spawns = &mut self.scratch.spawns;
        spawns.clear();
        for e in self.entities.values_mut() {
            let Role::Player(p) = &mut e.role else {
                continue;
            };
            p.input_credit = p.next_tick_credit();
            let count = p.input_credit.min(p.inputs.len() as u32);
            p.input_credit -= count;
            if count > 0 && !p.applied_last_tick {
                p.batch_tick = self.tick;
            }
            p.applied_last_tick = count > 0;
            if e.state.health == 0 {
                // Dead players' inputs are consumed, not applied.
                if let Some((seq, _)) = p.inputs.drain(..count as usize).next_back() {
                    p.last_seq = seq;
                }
                continue;
            }
            for _ in 0..count {
                let Some((seq, frame)) = p.inputs.pop_front() else {
                    break;
                };
                p.last_seq = seq;
                let mut m = e.state.motion();
                step_player(&mut m, frame, arena);
                e.state.set_motion(m);
                e.state.aim = frame.aim;
                p.fire_cooldown = p.fire_cooldown.saturating_sub(1);
                if frame.held(InputFrame::FIRE) && p.fire_cooldown == 0 {
                    p.fire_cooldown = FIRE_COOLDOWN_TICKS;
                    spawns.push((e.id, e.state.x, e.state.y, frame.aim));
                }
            }
        }
    }

    /// Brings back dead players whose respawn tick has come, at a random place.
    fn respawn_due_players(&mut self) {
        let tick = self.tick;
        let mut due = std::mem::take(&mut self.scratch.removals);
        due.clear();
        due.extend(
            self.entities
                .iter()
                .filter(|(_, e)| {
                    e.state.kind == EntityKind::Player
                        && e.state.health == 0
                        && tick >= e.state.respawn_tick
                })
                .map(|(k, _)| k),
        );
        for &key in &due {
            let (x, y) = self.random_position(PLAYER_RADIUS * 4);
            let s = &mut self.entities[key].state;
            *s = EntityState {
                kind: EntityKind::Player,
                x,
                y,
                health: MAX_HEALTH,
                score: s.score,
                aim: s.aim,
                ..Default::default()
            };
        }
        self.scratch.removals = due;
    }

    fn spawn_projectiles(&mut self) {
        let spawns = std::mem::take(&mut self.scratch.spawns);
        for &(owner, x, y, aim) in &spawns {
            let (vx, vy) = velocity_along(aim, PROJECTILE_SPEED);
            let (ox, oy) = velocity_along(aim, PLAYER_RADIUS + PROJECTILE_RADIUS + 16);
            let state = EntityState {
                kind: EntityKind::Projectile,
                x: x + ox,
                y: y + oy,
                vx,
                vy,
                aim,
                owner,
                ..Default::default()
            };
            self.spawn(
                state,
                Role::Projectile {
                    expires_tick: self.tick + PROJECTILE_LIFETIME_TICKS,
                },
            );
        }
        self.scratch.spawns = spawns;
    }

    /// Indexes living players (or orbs) into the scratch grid.
    fn index(&mut self, kind: EntityKind) {
        let s = &mut self.scratch;
        s.grid_keys.clear();
        s.grid_points.clear();
        for (k, e) in &self.entities {
            if e.state.kind == kind && (kind != EntityKind::Player || e.state.health > 0) {
                s.grid_keys.push(k);
                s.grid_points.push((e.state.x, e.state.y));
            }
        }
        s.grid.rebuild(&s.grid_points);
    }

    fn step_projectiles(&mut self) {
        self.index(EntityKind::Player);
        let tick = self.tick;
        let arena = self.arena;
        let reach = PLAYER_RADIUS + PROJECTILE_RADIUS;
        let mut removals = std::mem::take(&mut self.scratch.removals);
        let mut hits = std::mem::take(&mut self.scratch.hits);
        removals.clear();
        let mut kills: Vec<EntityId> = Vec::new();
        let projectile_keys: Vec<_> = self
            .entities
            .iter()
            .filter(|(_, e)| matches!(e.role, Role::Projectile { .. }))
            .map(|(k, _)| k)
            .collect();
        for key in projectile_keys {
            let (x, y, owner, expired) = {
                let e = &mut self.entities[key];
                e.state.x += e.state.vx;
                e.state.y += e.state.vy;
                let Role::Projectile { expires_tick } = e.role else {
                    continue;
                };
                let outside = e.state.x < 0
                    || e.state.y < 0
                    || e.state.x > arena.width
                    || e.state.y > arena.height;
                (
                    e.state.x,
                    e.state.y,
                    e.state.owner,
                    tick >= expires_tick || outside,
                )
            };
            if expired {
                removals.push(key);
                continue;
            }
            hits.clear();
            self.scratch
                .grid
                .query((x - reach, y - reach), (x + reach, y + reach), &mut hits);
            for &i in &hits {
                let victim_key = self.scratch.grid_keys[i as usize];
                let victim = &mut self.entities[victim_key];
                let (dx, dy) = (i64::from(victim.state.x - x), i64::from(victim.state.y - y));
                if victim.id == owner
                    || victim.state.health == 0
                    || dx * dx + dy * dy > i64::from(reach).pow(2)
                {
                    continue;
                }
                victim.state.health = victim.state.health.saturating_sub(PROJECTILE_DAMAGE);
                if victim.state.health == 0 {
                    victim.state.respawn_tick = tick + RESPAWN_TICKS;
                    victim.state.vx = 0;
                    victim.state.vy = 0;
                    kills.push(owner);
                }
                removals.push(key);
                break;
            }
        }
        for key in removals.drain(..) {
            self.entities.remove(key);
        }
        for killer in kills {
            if let Some(e) = self
                .entities
                .values_mut()
                .find(|e| e.id == killer && e.state.kind == EntityKind::Player)
            {
                e.state.score += KILL_SCORE;
            }
        }
        self.scratch.removals = removals;
        self.scratch.hits = hits;
    }

    fn collect_orbs(&mut self) {
        self.index(EntityKind::Orb);
        let reach = PLAYER_RADIUS + ORB_RADIUS;
        let mut hits = std::mem::take(&mut self.scratch.hits);
        let mut collected = Vec::new();
        for e in self.entities.values_mut() {
            if e.state.kind != EntityKind::Player || e.state.health == 0 {
                continue;
            }
            let (x, y) = (e.state.x, e.state.y);
            hits.clear();
            self.scratch
                .grid
                .query((x - reach, y - reach), (x + reach, y + reach), &mut hits);
            for &i in &hits {
                let (ox, oy) = self.scratch.grid_points[i as usize];
                let (dx, dy) = (i64::from(ox - x), i64::from(oy - y));
                if dx * dx + dy * dy <= i64::from(reach).pow(2) && !collected.contains(&i) {
                    collected.push(i);
                    e.state.score += ORB_SCORE;
                }
            }
        }
        for i in collected {
            let key = self.scratch.grid_keys[i as usize];
            let (x, y) = self.random_position(PLAYER_RADIUS);
            let orb = &mut self.entities[key].state;
            orb.x = x;
            orb.y = y;
        }
        self.scratch.hits = hits;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tickwire_protocol::sim::Arena;
    use tickwire_protocol::tuning::UNITS_PER_PIXEL;

    use super::*;
    use crate::room::world::{EntityKey, MAX_INPUT_CREDIT, PlayerData};

    fn world() -> World {
        World::new(
            Arena {
                width: 2000 * UNITS_PER_PIXEL,
                height: 2000 * UNITS_PER_PIXEL,
            },
            0,
            16,
            7,
        )
    }

    fn place(w: &mut World, key: super::super::world::EntityKey, x: i32, y: i32) {
        let s = &mut w.entities[key].state;
        s.x = x;
        s.y = y;
    }

    #[test]
    fn a_shot_hits_damages_kills_scores_and_respawns() {
        let mut w = world();
        let (shooter, _) = w.add_player(Arc::from("a"), Default::default());
        let (victim, _) = w.add_player(Arc::from("b"), Default::default());
        place(&mut w, shooter, 10_000, 10_000);
        place(&mut w, victim, 10_000 + 120 * UNITS_PER_PIXEL, 10_000);
        // Fire along +x (aim 0) once per FIRE_COOLDOWN_TICKS until the victim dies.
        let mut seq = 0;
        for _ in 0..400 {
            seq += 1;
            w.queue_inputs(shooter, seq, &[InputFrame::new(InputFrame::FIRE, 0)]);
            w.step();
            if w.get(victim).expect("exists").state.health == 0 {
                break;
            }
        }
        let v = &w.get(victim).expect("exists").state;
        assert_eq!(v.health, 0, "five hits kill");
        assert!(v.respawn_tick > w.tick());
        assert_eq!(w.get(shooter).expect("exists").state.score, KILL_SCORE);
        for _ in 0..RESPAWN_TICKS + 1 {
            w.step();
        }
        assert_eq!(w.get(victim).expect("exists").state.health, MAX_HEALTH);
    }

    #[test]
    fn projectiles_expire_and_orbs_are_collected_and_relocated() {
        let mut w = World::new(
            Arena {
                width: 2000 * UNITS_PER_PIXEL,
                height: 2000 * UNITS_PER_PIXEL,
            },
            1,
            16,
            3,
        );
        let (p, _) = w.add_player(Arc::from("a"), Default::default());
        let orb = w
            .entities
            .iter()
            .find(|(_, e)| e.state.kind == EntityKind::Orb)
            .map(|(k, e)| (k, e.state))
            .expect("orb");
        place(&mut w, p, orb.1.x, orb.1.y);
        w.step();
        assert_eq!(w.get(p).expect("exists").state.score, ORB_SCORE);
        assert_ne!(
            (w.entities[orb.0].state.x, w.entities[orb.0].state.y),
            (orb.1.x, orb.1.y)
        );
        w.queue_inputs(p, 1, &[InputFrame::new(InputFrame::FIRE, 64)]);
        w.step();
        assert_eq!(
            w.entities
                .values()
                .filter(|e| e.state.kind == EntityKind::Projectile)
                .count(),
            1
        );
        for _ in 0..PROJECTILE_LIFETIME_TICKS + 1 {
            w.step();
        }
        assert_eq!(
            w.entities
                .values()
                .filter(|e| e.state.kind == EntityKind::Projectile)
                .count(),
            0
        );
    }

    #[test]
    fn inputs_apply_in_order_once_each_and_the_queue_is_bounded() {
        let mut w = world();
        let (p, _) = w.add_player(Arc::from("a"), Default::default());
        w.queue_inputs(p, 1, &[InputFrame::new(InputFrame::RIGHT, 0); 4]);
        w.queue_inputs(p, 3, &[InputFrame::new(InputFrame::RIGHT, 0); 4]); // 3 and 4 are duplicates
        assert_eq!(
            player(&mut w, p)
                .inputs
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6]
        );
        w.queue_inputs(p, 7, &[InputFrame::default(); 40]);
        let data = player(&mut w, p);
        assert_eq!(data.inputs.len(), 16);
        assert_eq!(data.inputs.back().map(|(s, _)| *s), Some(46));
    }

    #[test]
    fn batch_tick_marks_where_each_batch_of_inputs_lands() {
        let mut w = world();
        let (p, _) = w.add_player(Arc::from("a"), Default::default());
        let frame = InputFrame::new(0, 0);
        let mut seq = 0;
        let mut batch = |w: &mut World, n: u32| {
            let frames = vec![frame; n as usize];
            w.queue_inputs(p, seq + 1, &frames);
            seq += n;
        };
        // Three inputs every third tick (after three ticks of credit): each
        // batch lands whole at the tick after it.
        for _ in 0..3 {
            w.step();
        }
        for _ in 0..4 {
            batch(&mut w, 3);
            w.step();
            let landed = w.tick();
            assert_eq!(player(&mut w, p).batch_tick, landed);
            w.step();
            w.step();
            assert_eq!(player(&mut w, p).batch_tick, landed, "no new batch");
        }
        // One input every tick: one run of inputs, landed at its first tick.
        let first = w.tick() + 1;
        for _ in 0..10 {
            batch(&mut w, 1);
            w.step();
        }
        assert_eq!(player(&mut w, p).batch_tick, first);
    }

    fn player(w: &mut World, p: EntityKey) -> &PlayerData {
        w.player_mut(p).expect("a player")
    }

    #[test]
    fn a_batch_sent_every_few_ticks_is_applied_whole_at_the_next_tick() {
        let mut w = world();
        let (p, _) = w.add_player(Arc::from("a"), Default::default());
        let right = InputFrame::new(InputFrame::RIGHT, 0);
        let mut seq = 1;
        for _ in 0..10 {
            // Three ticks pass, then three inputs arrive together.
            for _ in 0..3 {
                w.step();
            }
            w.queue_inputs(p, seq, &[right; 3]);
            seq += 3;
            w.step();
            assert_eq!(
                player(&mut w, p).last_seq,
                seq - 1,
                "the whole batch at once"
            );
        }
    }

    #[test]
    fn a_client_sending_faster_than_the_tick_rate_gets_one_input_a_tick() {
        let mut w = world();
        let (p, _) = w.add_player(Arc::from("a"), Default::default());
        let right = InputFrame::new(InputFrame::RIGHT, 0);
        let queued = |w: &mut World| player(w, p).inputs.len() as u32;
        let (mut seq, mut applied) = (1, 0);
        for _ in 0..120 {
            // Two inputs every tick: twice the tick rate (the queue bound drops the excess).
            w.queue_inputs(p, seq, &[right; 2]);
            seq += 2;
            let before = queued(&mut w);
            w.step();
            applied += before - queued(&mut w);
        }
        assert!(applied >= 120, "{applied}");
        assert!(applied <= 120 + MAX_INPUT_CREDIT, "{applied}");
    }
}
