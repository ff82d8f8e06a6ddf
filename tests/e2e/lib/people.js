// lib/people.js — the demo users and patient the browser tests sign in as and
// talk about (one centre, kirov), so every test names them the same way.
export const USERS = {
  clinician: { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'petrova' },
  specialist: { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'ivanova', specialties: ['cardiology'] },
  coordinator: { role: 'coordinator', tenant: 'kirov', name: 'Oleg Smirnov', subject: 'smirnov' },
};
export const PATIENT = 'Иван Сидоров';
